#define BOOST_TEST_MODULE sekds_tsm
#include <boost/test/unit_test.hpp>
