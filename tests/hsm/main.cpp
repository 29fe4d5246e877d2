#define BOOST_TEST_MODULE sekds_hsm
#include <boost/test/unit_test.hpp>
