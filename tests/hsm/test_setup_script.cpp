// hsm/setup-token.sh: idempotent token set-up whose output the Hsm layer can open.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "hsm/hsm.h"
#include "support/softhsm_token.h"

using namespace sekds;

namespace {

const std::string kScript = std::string(SEKDS_SOURCE_DIR) + "/hsm/setup-token.sh";

unsigned mode_of(const std::string& path) {
  struct stat st {};
  BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// SOFTHSM2_CONF for the Hsm objects of one block, restored afterwards.
struct ConfEnv {
  std::string saved;
  bool had = false;
  explicit ConfEnv(const std::string& conf) {
    if (const char* c = std::getenv("SOFTHSM2_CONF")) {
      had = true;
      saved = c;
    }
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
  }
  ~ConfEnv() {
    if (had)
      ::setenv("SOFTHSM2_CONF", saved.c_str(), 1);
    else
      ::unsetenv("SOFTHSM2_CONF");
  }
};

hsm::HsmConfig config(const std::string& label, const std::string& pin_file, hsm::LoginRole role) {
  hsm::HsmConfig c;
  c.module_path = test::SoftHsmToken::module_path();
  c.token = label;
  c.pin = hsm::PinSource::parse("file:" + pin_file);
  c.role = role;
  return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(setup_script)

BOOST_AUTO_TEST_CASE(creates_an_openable_token_and_is_idempotent) {
  test::TempDir d;
  std::string out;
  int rc = test::SoftHsmToken::run({kScript, "--data-dir", d.path(), "--label", "script-test"}, &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  const std::string dir = d.path() + "/softhsm";
  BOOST_TEST(out.find("export SOFTHSM2_CONF=" + dir + "/softhsm2.conf") != std::string::npos, out);
  BOOST_TEST(mode_of(dir) == 0700u);
  BOOST_TEST(mode_of(dir + "/tokens") == 0700u);
  BOOST_TEST(mode_of(dir + "/softhsm2.conf") == 0600u);
  BOOST_TEST(mode_of(dir + "/user.pin") == 0600u);
  BOOST_TEST(mode_of(dir + "/so.pin") == 0600u);
  BOOST_TEST(read(dir + "/DEMO-PINS.txt").find("DEMO ONLY") != std::string::npos);
  BOOST_TEST(read(dir + "/softhsm2.conf").find("directories.tokendir = " + dir + "/tokens") != std::string::npos);
  const std::string pin = read(dir + "/user.pin");
  BOOST_TEST(pin.size() == 17u);  // 16 hex digits and a newline

  rc = test::SoftHsmToken::run({kScript, "--data-dir", d.path(), "--label", "script-test"}, &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_TEST(out.find("already exists") != std::string::npos, out);
  BOOST_TEST(read(dir + "/user.pin") == pin);  // nothing regenerated

  {
    ConfEnv env(dir + "/softhsm2.conf");
    {
      hsm::Hsm user(config("script-test", dir + "/user.pin", hsm::LoginRole::User));
      BOOST_TEST(user.generate_random(16).size() == 16u);
    }
    hsm::Hsm so(config("script-test", dir + "/so.pin", hsm::LoginRole::SecurityOfficer));
    BOOST_TEST(so.generate_random(16).size() == 16u);
  }

  // PIN files gone while the token stays: refused instead of generating PINs that cannot match.
  BOOST_REQUIRE(std::remove((dir + "/user.pin").c_str()) == 0);
  rc = test::SoftHsmToken::run({kScript, "--data-dir", d.path(), "--label", "script-test"}, &out);
  BOOST_TEST(rc != 0);
  BOOST_TEST(out.find("missing") != std::string::npos, out);
}

BOOST_AUTO_TEST_CASE(uses_given_pin_files_and_refuses_unsafe_ones) {
  test::TempDir d;
  test::write_file(d.path() + "/u.pin", "2468101214\n", 0600);
  test::write_file(d.path() + "/s.pin", "1357911131\n", 0600);
  test::write_file(d.path() + "/open.pin", "1357911131\n", 0644);
  std::string out;
  int rc = test::SoftHsmToken::run({kScript, "--data-dir", d.path() + "/bad", "--user-pin-file", d.path() + "/open.pin",
                                    "--so-pin-file", d.path() + "/s.pin"},
                                   &out);
  BOOST_TEST(rc != 0);
  BOOST_TEST(out.find("chmod 600") != std::string::npos, out);

  rc = test::SoftHsmToken::run({kScript, "--data-dir", d.path() + "/good", "--label", "given", "--user-pin-file",
                                d.path() + "/u.pin", "--so-pin-file", d.path() + "/s.pin"},
                               &out);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  BOOST_TEST(out.find("pin    = \"file:" + d.path() + "/u.pin\"") != std::string::npos, out);
  ConfEnv env(d.path() + "/good/softhsm/softhsm2.conf");
  hsm::Hsm user(config("given", d.path() + "/u.pin", hsm::LoginRole::User));
  BOOST_TEST(user.generate_random(4).size() == 4u);
  BOOST_TEST(test::SoftHsmToken::run({kScript, "--label", "bad label"}, &out) != 0);
}

BOOST_AUTO_TEST_SUITE_END()
