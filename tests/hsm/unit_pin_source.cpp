// PIN sources: file (permissions, one trailing newline), environment, never literal.
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <string>

#include "hsm/error.h"
#include "hsm/pin_source.h"
#include "support/softhsm_token.h"

using namespace sekds;
using hsm::HsmErrc;
using hsm::HsmError;
using hsm::PinSource;

namespace {
std::string str(const gp::SecureBytes& b) { return std::string(b.begin(), b.end()); }

HsmErrc code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const HsmError& e) {
    return e.code();
  }
  BOOST_FAIL("no HsmError thrown");
  return HsmErrc::Pkcs11;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pin_source)

BOOST_AUTO_TEST_CASE(file_trims_one_newline) {
  test::TempDir d;
  test::write_file(d.path() + "/a", "1234\n", 0600);
  test::write_file(d.path() + "/b", "1234\r\n", 0600);
  test::write_file(d.path() + "/c", "1234\n\n", 0600);
  test::write_file(d.path() + "/e", "1 2 3 4", 0400);
  BOOST_TEST(str(PinSource::parse("file:" + d.path() + "/a").read()) == "1234");
  BOOST_TEST(str(PinSource::parse("file:" + d.path() + "/b").read()) == "1234");
  BOOST_TEST(str(PinSource::parse("file:" + d.path() + "/c").read()) == "1234\n");  // only one
  BOOST_TEST(str(PinSource::parse("file:" + d.path() + "/e").read()) == "1 2 3 4");
  BOOST_TEST(PinSource::parse("file:" + d.path() + "/a").describe() == "file:" + d.path() + "/a");
}

BOOST_AUTO_TEST_CASE(file_refused_when_group_or_other_can_read) {
  test::TempDir d;
  for (unsigned mode : {0640u, 0604u, 0620u, 0644u}) {
    test::write_file(d.path() + "/p", "1234\n", mode);
    try {
      PinSource::parse("file:" + d.path() + "/p").read();
      BOOST_FAIL("accepted mode " << std::oct << mode);
    } catch (const HsmError& e) {
      BOOST_TEST(e.code() == HsmErrc::PinSource);
      BOOST_TEST(std::string(e.what()).find("chmod 600") != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_CASE(file_errors_are_named) {
  test::TempDir d;
  test::write_file(d.path() + "/empty", "\n", 0600);
  BOOST_TEST((code_of([&] { PinSource::parse("file:" + d.path() + "/empty").read(); }) == HsmErrc::PinSource));
  BOOST_TEST((code_of([&] { PinSource::parse("file:" + d.path() + "/missing").read(); }) == HsmErrc::PinSource));
  BOOST_TEST((code_of([&] { PinSource::parse("file:" + d.path()).read(); }) == HsmErrc::PinSource));  // a directory
}

BOOST_AUTO_TEST_CASE(env_variable) {
  ::setenv("SEKDS_TEST_PIN_X", "987654", 1);
  BOOST_TEST(str(PinSource::parse("env:SEKDS_TEST_PIN_X").read()) == "987654");
  ::unsetenv("SEKDS_TEST_PIN_X");
  BOOST_TEST((code_of([] { PinSource::parse("env:SEKDS_TEST_PIN_X").read(); }) == HsmErrc::PinSource));
  ::setenv("SEKDS_TEST_PIN_X", "", 1);
  BOOST_TEST((code_of([] { PinSource::parse("env:SEKDS_TEST_PIN_X").read(); }) == HsmErrc::PinSource));
  ::unsetenv("SEKDS_TEST_PIN_X");
}

// The PIN must not stay in the environment (children, /proc/PID/environ): wiped in place and
// unset; the source keeps it for a reconnect.
BOOST_AUTO_TEST_CASE(env_pin_is_taken_out_of_the_environment) {
  ::setenv("SEKDS_TEST_PIN_Y", "246810", 1);
  const char* where = std::getenv("SEKDS_TEST_PIN_Y");  // glibc never frees a setenv string
  const auto p = PinSource::parse("env:SEKDS_TEST_PIN_Y");
  BOOST_TEST(str(p.read()) == "246810");
  BOOST_TEST(std::getenv("SEKDS_TEST_PIN_Y") == nullptr);
  BOOST_TEST(std::string(where, where + 6).find("246810") == std::string::npos);
  BOOST_TEST(str(p.read()) == "246810");  // again, as after a reconnect
}

BOOST_AUTO_TEST_CASE(literal_pins_are_refused_without_echo) {
  try {
    PinSource::parse("123456");
    BOOST_FAIL("literal accepted");
  } catch (const HsmError& e) {
    BOOST_TEST(e.code() == HsmErrc::PinSource);
    BOOST_TEST(std::string(e.what()).find("123456") == std::string::npos);
  }
  BOOST_TEST((code_of([] { PinSource::parse("file:"); }) == HsmErrc::PinSource));
  BOOST_TEST((code_of([] { PinSource::parse("env:"); }) == HsmErrc::PinSource));
  BOOST_TEST((code_of([] { PinSource::parse("env:A-B"); }) == HsmErrc::PinSource));
}

BOOST_AUTO_TEST_CASE(in_memory_value) {
  auto p = PinSource::value(gp::SecureBytes{'1', '2'});
  BOOST_TEST(str(p.read()) == "12");
  BOOST_TEST(p.describe() == "value");
  BOOST_TEST((code_of([] { PinSource().read(); }) == HsmErrc::PinSource));  // nothing configured
  BOOST_TEST((code_of([] { PinSource::value({}); }) == HsmErrc::PinSource));
}

BOOST_AUTO_TEST_SUITE_END()
