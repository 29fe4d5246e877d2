#include "process/hardening.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

namespace sekds::process {
namespace {

[[noreturn]] void die(std::string_view program, const std::string& what) {
  std::cerr << program << ": " << what << "\n";
  std::exit(1);
}

}  // namespace

void harden_process(std::string_view program) {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    die(program, std::string("cannot disable core dumps (prctl PR_SET_DUMPABLE): ") + std::strerror(errno));
  // The hard limit too, so nothing later in the process can raise it back.
  const rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0)
    die(program, std::string("cannot set RLIMIT_CORE to 0: ") + std::strerror(errno));
  ::umask(077);

  if (::geteuid() == 0) {
    const char* allow = std::getenv(kAllowRootEnv);
    if (allow == nullptr || std::string_view(allow) != "1") {
      std::cerr << program << ": refusing to run as root (effective uid 0): run it as an unprivileged user, or set "
                << kAllowRootEnv << "=1 to allow it (development and CI only)\n";
      std::exit(kExitRefusedRoot);
    }
  }
}

void block_termination_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace sekds::process
