#define BOOST_TEST_MODULE sekds_card_unit
#include <boost/test/unit_test.hpp>
