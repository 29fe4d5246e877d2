// Every program refuses to run as root (effective uid 0) unless SEKDS_ALLOW_ROOT=1: spawned
// here with the variable removed. ctest sets it for every other test (tests/CMakeLists.txt).
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <optional>
#include <string>

#include "process/hardening.h"
#include "support/softhsm_token.h"

using namespace sekds;

namespace {

// Runs `bin --help` with SEKDS_ALLOW_ROOT set to `allow` (nullopt: absent).
int run(const std::string& bin, const std::optional<std::string>& allow, std::string* out) {
  const char* saved = std::getenv(process::kAllowRootEnv);
  const std::optional<std::string> keep = saved ? std::optional<std::string>(saved) : std::nullopt;
  if (allow)
    ::setenv(process::kAllowRootEnv, allow->c_str(), 1);
  else
    ::unsetenv(process::kAllowRootEnv);
  const int rc = test::SoftHsmToken::run({bin, "--help"}, out);
  if (keep)
    ::setenv(process::kAllowRootEnv, keep->c_str(), 1);
  else
    ::unsetenv(process::kAllowRootEnv);
  return rc;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(root_refusal)

BOOST_AUTO_TEST_CASE(every_program_refuses_root_without_the_variable) {
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("not root: the refusal cannot be observed here (CI runs as root)");
    return;
  }
  for (const char* b : {SEKDS_SERVER_BIN, SEKDS_ADMIN_BIN, SEKDS_TSM_BIN, SEKDS_CARD_BIN}) {
    const std::string bin = b;
    const std::string name = bin.substr(bin.rfind('/') + 1);
    for (const std::optional<std::string>& allow : {std::optional<std::string>(), std::optional<std::string>("0")}) {
      std::string out;
      BOOST_TEST(run(bin, allow, &out) == process::kExitRefusedRoot, name << ": " << out);
      BOOST_TEST(out.find(name + ": refusing to run as root") == 0u, out);
      BOOST_TEST(out.find("SEKDS_ALLOW_ROOT=1") != std::string::npos, out);
    }
    std::string out;
    BOOST_TEST(run(bin, std::string("1"), &out) == 0, name << ": " << out);
    BOOST_TEST(out.find("refusing") == std::string::npos, out);
  }
}

BOOST_AUTO_TEST_SUITE_END()
