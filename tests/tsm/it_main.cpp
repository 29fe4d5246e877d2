#define BOOST_TEST_MODULE sekds_tsm_integration
#include <boost/test/unit_test.hpp>

#include "service/logging.h"
#include "service/tls_init.h"

// gSOAP's OpenSSL set-up once, before any thread (TOOLCHAIN §1); the in-process servers log
// warnings only (their per-request lines would bury the test output).
struct SslInit {
  SslInit() {
    sekds::service::ssl_init();
    sekds::service::configure_logging("warn", std::nullopt);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(SslInit);
