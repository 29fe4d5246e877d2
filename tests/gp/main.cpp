#define BOOST_TEST_MODULE sekds_gp
#include <boost/test/unit_test.hpp>
