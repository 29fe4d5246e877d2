#define BOOST_TEST_MODULE sekds_store
#include <boost/test/unit_test.hpp>
