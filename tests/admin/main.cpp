#define BOOST_TEST_MODULE sekds_admin
#include <boost/test/unit_test.hpp>
