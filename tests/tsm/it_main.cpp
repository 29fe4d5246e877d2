#define BOOST_TEST_MODULE sekds_tsm_integration
#include <boost/test/unit_test.hpp>

#include "service/tls_init.h"

// gSOAP's OpenSSL set-up once, before any thread (TOOLCHAIN §1).
struct SslInit {
  SslInit() { sekds::service::ssl_init(); }
};
BOOST_TEST_GLOBAL_FIXTURE(SslInit);
