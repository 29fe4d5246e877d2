// sekds-server's life cycle under a service manager: SIGTERM or SIGINT drain and stop it.
#include <signal.h>

#include <atomic>
#include <thread>

#include "service/logging.h"
#include "service/server.h"

namespace sekds::service {

int run_until_signal(Server& server) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  try {
    server.start();  // its threads inherit the blocked mask: signals come to sigtimedwait below
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    while (!done) {
      timespec ts{0, 200 * 1000 * 1000};
      int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig == SIGTERM || sig == SIGINT) {
        log_json(spdlog::level::info, {{"event", "signal"}, {"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
        server.stop();
        return;
      }
    }
  });
  server.wait();
  done = true;
  waiter.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return 0;
}

}  // namespace sekds::service
