#include "service/tls_init.h"

#include <signal.h>

#include <mutex>

#include "stdsoap2.h"

namespace sekds::service {

void ssl_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    soap_ssl_init();
    ::signal(SIGPIPE, SIG_IGN);
  });
}

}  // namespace sekds::service
