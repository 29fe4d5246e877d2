#define BOOST_TEST_MODULE sekds_process
#include <boost/test/unit_test.hpp>
