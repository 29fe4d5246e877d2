// Token selection by label or RFC 7512 pkcs11: URI.
#include <boost/test/unit_test.hpp>

#include <cstring>

#include "hsm/error.h"
#include "hsm/token_selector.h"

using namespace sekds::hsm;

namespace {

CK_TOKEN_INFO info(const char* label, const char* serial, const char* manufacturer = "SoftHSM project",
                   const char* model = "SoftHSM v2") {
  CK_TOKEN_INFO i{};
  auto fill = [](unsigned char* f, std::size_t w, const char* v) {
    std::memset(f, ' ', w);
    std::memcpy(f, v, std::strlen(v));
  };
  fill(i.label, sizeof i.label, label);
  fill(i.serialNumber, sizeof i.serialNumber, serial);
  fill(i.manufacturerID, sizeof i.manufacturerID, manufacturer);
  fill(i.model, sizeof i.model, model);
  return i;
}

std::string bad_uri_message(const std::string& uri) {
  try {
    TokenSelector::parse(uri);
  } catch (const HsmError& e) {
    BOOST_TEST((e.code() == HsmErrc::BadUri));
    return e.what();
  }
  BOOST_FAIL("accepted " << uri);
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(token_selector)

BOOST_AUTO_TEST_CASE(plain_label) {
  auto s = TokenSelector::parse("sekds");
  BOOST_TEST(*s.label == "sekds");
  BOOST_TEST(s.matches(7, info("sekds", "1")));
  BOOST_TEST(!s.matches(7, info("sekds2", "1")));
  BOOST_TEST(s.describe() == "token label 'sekds'");
}

BOOST_AUTO_TEST_CASE(uri_attributes_and_percent_decoding) {
  auto s = TokenSelector::parse("pkcs11:token=My%20Token;serial=1a2b;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;slot-id=649702137");
  BOOST_TEST(*s.label == "My Token");
  BOOST_TEST(*s.serial == "1a2b");
  BOOST_TEST(*s.slot_id == 649702137ul);
  BOOST_TEST(s.matches(649702137, info("My Token", "1a2b")));
  BOOST_TEST(!s.matches(1, info("My Token", "1a2b")));
  BOOST_TEST(!s.matches(649702137, info("My Token", "1a2c")));
  BOOST_TEST(!s.matches(649702137, info("My Token", "1a2b", "Other")));
  auto only_serial = TokenSelector::parse("pkcs11:serial=1a2b");
  BOOST_TEST(only_serial.matches(3, info("whatever", "1a2b")));
  BOOST_TEST(TokenSelector::parse("pkcs11:token=a%2fb").label.value() == "a/b");
}

BOOST_AUTO_TEST_CASE(unsupported_attributes_are_named) {
  BOOST_TEST(bad_uri_message("pkcs11:token=a;object=key").find("'object'") != std::string::npos);
  BOOST_TEST(bad_uri_message("pkcs11:id=%01").find("'id'") != std::string::npos);
  BOOST_TEST(bad_uri_message("pkcs11:library-description=x").find("'library-description'") != std::string::npos);
  BOOST_TEST(bad_uri_message("pkcs11:token=a?pin-value=1234").find("query") != std::string::npos);
  bad_uri_message("pkcs11:token=a;token=b");   // twice
  bad_uri_message("pkcs11:token=%4");          // truncated escape
  bad_uri_message("pkcs11:token=%zz");         // invalid escape
  bad_uri_message("pkcs11:token=a b");         // raw space
  bad_uri_message("pkcs11:slot-id=12x");       // not decimal
  bad_uri_message("pkcs11:slot-id=99999999999999999999999");
  bad_uri_message("pkcs11:token");             // no '='
  bad_uri_message("pkcs11:");                  // selects nothing
  BOOST_CHECK_THROW(TokenSelector::parse(""), HsmError);
  BOOST_CHECK_THROW(TokenSelector::parse(std::string(33, 'x')), HsmError);
}

BOOST_AUTO_TEST_CASE(field_padding) {
  unsigned char f[8] = {'a', 'b', ' ', ' ', ' ', ' ', ' ', ' '};
  BOOST_TEST(token_field(f, 8) == "ab");
}

BOOST_AUTO_TEST_SUITE_END()
