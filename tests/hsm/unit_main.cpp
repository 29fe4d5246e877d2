#define BOOST_TEST_MODULE sekds_hsm_unit
#include <boost/test/unit_test.hpp>
