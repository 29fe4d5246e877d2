#define BOOST_TEST_MODULE sekds_e2e
#include <boost/test/unit_test.hpp>

#include "service/tls_init.h"

struct SslInit {
  SslInit() { sekds::service::ssl_init(); }
};
BOOST_TEST_GLOBAL_FIXTURE(SslInit);
