// harden_process: no dumps, no core, private files; the signal mask threads inherit.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <thread>

#include "process/hardening.h"

using namespace sekds;

BOOST_AUTO_TEST_SUITE(hardening)

BOOST_AUTO_TEST_CASE(no_dump_no_core_private_umask) {
  ::umask(022);
  ::setenv(process::kAllowRootEnv, "1", 1);  // ctest runs as root in CI
  process::harden_process("test_process");
  BOOST_TEST(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
  rlimit core{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_CORE, &core) == 0);
  BOOST_TEST(core.rlim_cur == 0u);
  BOOST_TEST(core.rlim_max == 0u);  // cannot be raised back
  const mode_t mask = ::umask(077);
  BOOST_TEST(mask == 077u);
}

BOOST_AUTO_TEST_CASE(threads_started_later_inherit_the_blocked_signals) {
  sigset_t saved;
  pthread_sigmask(SIG_SETMASK, nullptr, &saved);
  process::block_termination_signals();
  bool term = false, intr = false;
  std::thread([&] {
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, nullptr, &now);
    term = sigismember(&now, SIGTERM) == 1;
    intr = sigismember(&now, SIGINT) == 1;
  }).join();
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  BOOST_TEST(term);
  BOOST_TEST(intr);
}

BOOST_AUTO_TEST_SUITE_END()
