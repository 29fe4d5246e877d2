#define BOOST_TEST_MODULE sekds_service_unit
#include <boost/test/unit_test.hpp>
