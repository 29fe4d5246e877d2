#define BOOST_TEST_MODULE sekds_service
#include <boost/test/unit_test.hpp>

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "service/tls_init.h"

// Once per process: gSOAP's OpenSSL set-up, SIGPIPE ignored, quiet logs (the access log
// would print one line per request).
struct ServiceTestSetup {
  ServiceTestSetup() {
    sekds::service::ssl_init();
    // SEKDS_TEST_LOG=info shows the server's access log while debugging a test.
    const char* level = std::getenv("SEKDS_TEST_LOG");
    spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::critical);
  }
};
BOOST_TEST_GLOBAL_FIXTURE(ServiceTestSetup);
