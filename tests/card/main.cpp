#define BOOST_TEST_MODULE sekds_card
#include <boost/test/unit_test.hpp>
