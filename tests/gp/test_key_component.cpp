// Key component sheets (gp/key_component.h): the text form custodians receive, read back by
// the admin CLI and the TSM client. Known answers computed with python3-cryptography.
#include <boost/test/unit_test.hpp>

#include <string>

#include "gp/error.h"
#include "gp/key_component.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

auto has_code(gp::Errc c) {
  return [c](const gp::GpError& e) { return e.code() == c; };
}

// A KEK sheet written by hand (not by format_key_component), so parsing is checked on its own.
// c1 = 00112233445566778899AABBCCDDEEFF: AES-ECB-01 KCV 3544E0; with the other custodian's
// c2 = 404142434445464748494A4B4C4D4E4F (KCV 504A77) the combined key has KCV ECAE4B.
const std::string kKekSheet =
    "# sekds key component: KEK for TSM tsm1, index 7 -- custodian 1 of 2\n"
    "\n"
    "format: sekds-key-component/1\n"
    "purpose: kek\n"
    "tsm: tsm1\n"
    "kek-index: 7\n"
    "key-type: AES128\n"
    "custodian: 1 of 2\n"
    "kcv-convention: AES-ECB-01\n"
    "component: 0011 2233 4455 6677 8899 AABB CCDD EEFF\n"
    "component-kcv: 3544e0\n"
    "combined-kcv: ECAE4B\n";

gp::ComponentSheet aes_kek(const std::string& hex, const std::string& kcv, unsigned custodian) {
  gp::ComponentSheet c;
  c.purpose = gp::ComponentPurpose::Kek;
  c.tsm = "tsm1";
  c.kek_index = 7;
  c.key_type = gp::KeyType::Aes128;
  c.kcv_alg = gp::KcvAlg::AesGp;
  c.custodian = custodian;
  c.custodians = 2;
  gp::ComponentShare s;
  s.value = gp::secure_from_hex(hex);
  s.kcv = gp::from_hex(kcv);
  s.combined_kcv = gp::from_hex("ECAE4B");
  c.shares.push_back(std::move(s));
  return c;
}

std::string text(const gp::SecureText& t) { return std::string(t.begin(), t.end()); }

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto p = s.find(from);
  BOOST_REQUIRE_MESSAGE(p != std::string::npos, "test bug: '" << from << "' not in the sheet");
  return s.replace(p, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(key_component)

BOOST_AUTO_TEST_CASE(parses_a_hand_written_kek_sheet_and_its_kcvs_check) {
  const gp::ComponentSheet c = gp::parse_key_component(kKekSheet);
  BOOST_TEST(gp::component_purpose_name(c.purpose) == std::string("kek"));
  BOOST_TEST(c.tsm == "tsm1");
  BOOST_TEST(*c.kek_index == 7u);
  BOOST_TEST(gp::key_type_name(c.key_type) == std::string("AES128"));
  BOOST_TEST(gp::kcv_alg_name(c.kcv_alg) == std::string("AES-ECB-01"));
  BOOST_TEST(c.custodian == 1u);
  BOOST_TEST(c.custodians == 2u);
  BOOST_REQUIRE(c.shares.size() == 1u);
  BOOST_TEST(!c.per_role());
  BOOST_TEST(to_hex(gp::view(c.shares[0].value)) == "00112233445566778899AABBCCDDEEFF");
  BOOST_TEST(to_hex(c.shares[0].kcv) == "3544E0");
  BOOST_TEST(to_hex(*c.shares[0].combined_kcv) == "ECAE4B");
  BOOST_CHECK_NO_THROW(gp::check_component_kcvs(c));
}

BOOST_AUTO_TEST_CASE(two_sheets_combine_to_the_key_with_the_combined_kcv) {
  const auto a = gp::parse_key_component(text(gp::format_key_component(aes_kek("00112233445566778899AABBCCDDEEFF", "3544E0", 1))));
  const auto b = gp::parse_key_component(text(gp::format_key_component(aes_kek("404142434445464748494A4B4C4D4E4F", "504A77", 2))));
  gp::check_component_kcvs(a);
  gp::check_component_kcvs(b);
  const gp::SecureBytes key = gp::xor_shares({&a.shares[0], &b.shares[0]});
  BOOST_TEST(to_hex(gp::view(key)) == "4050607000102030C0D0E0F08090A0B0");
  BOOST_TEST(to_hex(gp::kcv(gp::KcvAlg::AesGp, gp::view(key))) == "ECAE4B");
}

BOOST_AUTO_TEST_CASE(format_then_parse_round_trips_and_says_what_it_is) {
  gp::ComponentSheet c = aes_kek("404142434445464748494A4B4C4D4E4F", "504A77", 2);
  c.comments = {"DEMO ONLY", "custodian 2 of 2"};
  const std::string t = text(gp::format_key_component(c));
  BOOST_TEST(t.rfind("# DEMO ONLY\n# custodian 2 of 2\n", 0) == 0u);
  BOOST_TEST(t.find("# KCV convention AES-ECB-01: first bytes of AES-ECB(key, 16 x 01)") != std::string::npos);
  BOOST_TEST(t.find("component: 4041 4243 4445 4647 4849 4A4B 4C4D 4E4F\n") != std::string::npos);
  BOOST_TEST(t.find("custodian: 2 of 2\n") != std::string::npos);
  const gp::ComponentSheet back = gp::parse_key_component(t);
  BOOST_TEST(to_hex(gp::view(back.shares[0].value)) == "404142434445464748494A4B4C4D4E4F");
  BOOST_TEST(back.custodian == 2u);
  BOOST_TEST(*back.kek_index == 7u);
  BOOST_TEST(back.comments.empty());  // comments are for people; parse ignores them
}

BOOST_AUTO_TEST_CASE(per_role_master_key_sheet_round_trips) {
  gp::ComponentSheet c;
  c.purpose = gp::ComponentPurpose::MasterKey;
  c.issuer = "bank-1";
  c.kvn = 32;
  c.key_type = gp::KeyType::Des2;
  c.kcv_alg = gp::KcvAlg::Des3Zero;
  c.custodian = 3;
  c.custodians = 3;
  for (gp::KeyRole r : gp::kKeyRoles) {
    gp::ComponentShare s;
    s.role = r;
    s.value = gp::secure_from_hex("404142434445464748494A4B4C4D4E4F");
    s.kcv = gp::from_hex("8BAF47");  // the GP default test key
    c.shares.push_back(std::move(s));
  }
  const std::string t = text(gp::format_key_component(c));
  BOOST_TEST(t.find("component.mac: ") != std::string::npos);
  BOOST_TEST(t.find("component-kcv.dek: 8BAF47") != std::string::npos);
  BOOST_TEST(t.find("combined-kcv") == std::string::npos);
  const gp::ComponentSheet back = gp::parse_key_component(t);
  BOOST_TEST(back.per_role());
  BOOST_TEST(back.issuer == "bank-1");
  BOOST_TEST(*back.kvn == 32u);
  BOOST_REQUIRE(back.share(gp::KeyRole::Mac) != nullptr);
  BOOST_TEST(!back.share(gp::KeyRole::Mac)->combined_kcv.has_value());
  BOOST_TEST(back.share(std::nullopt) == nullptr);
  BOOST_CHECK_NO_THROW(gp::check_component_kcvs(back));
}

BOOST_AUTO_TEST_CASE(a_wrong_kcv_is_named_by_check_not_by_parse) {
  const std::string sheet = replace(kKekSheet, "component-kcv: 3544e0", "component-kcv: 3544E1");
  const gp::ComponentSheet c = gp::parse_key_component(sheet);
  BOOST_CHECK_EXCEPTION(gp::check_component_kcvs(c), gp::GpError, [](const gp::GpError& e) {
    const std::string m = e.what();
    return e.code() == gp::Errc::KcvMismatch && m.find("3544E0") != std::string::npos &&
           m.find("3544E1") != std::string::npos && m.find("00112233") == std::string::npos;
  });
}

BOOST_AUTO_TEST_CASE(malformed_sheets_are_refused_naming_the_field) {
  struct Case {
    std::string from, to, needle;
    gp::Errc code;
  };
  const Case cases[] = {
      {"format: sekds-key-component/1", "format: sekds-key-component/2", "format", gp::Errc::InvalidArgument},
      {"purpose: kek", "purpose: pin", "purpose", gp::Errc::InvalidArgument},
      {"tsm: tsm1", "tsm: tsm/1", "tsm", gp::Errc::InvalidArgument},
      {"kek-index: 7", "kek-index: -1", "kek-index", gp::Errc::InvalidArgument},
      {"kek-index: 7", "kek-index: 4294967296", "kek-index", gp::Errc::InvalidArgument},
      {"key-type: AES128", "key-type: AES127", "key-type", gp::Errc::InvalidArgument},
      {"key-type: AES128", "key-type: DES2", "a KEK is AES128", gp::Errc::InvalidArgument},
      {"kcv-convention: AES-ECB-01", "kcv-convention: DES3-ECB-ZERO", "does not fit", gp::Errc::InvalidArgument},
      {"key-type: AES128", "key-type: AES256", "32", gp::Errc::InvalidLength},
      {"custodian: 1 of 2", "custodian: 3 of 2", "custodian", gp::Errc::InvalidArgument},
      {"custodian: 1 of 2", "custodian: 1 of 4", "custodian", gp::Errc::InvalidArgument},
      {"custodian: 1 of 2", "custodian: one of two", "custodian", gp::Errc::InvalidArgument},
      {"kcv-convention: AES-ECB-01", "kcv-convention: KCV", "kcv-convention", gp::Errc::InvalidArgument},
      {"component: 0011", "component: 0G11", "line 10: component", gp::Errc::InvalidHex},
      {"component: 0011", "component: 011", "line 10: component", gp::Errc::InvalidHex},
      {"component: 0011 ", "component: ", "16", gp::Errc::InvalidLength},
      {"component-kcv: 3544e0", "component-kcv: 35", "KCV", gp::Errc::InvalidLength},
      {"combined-kcv: ECAE4B", "combined-kcv: ECAE4B\nremark: hello", "line 13: remark: unknown field",
       gp::Errc::InvalidArgument},
      {"combined-kcv: ECAE4B", "combined-kcv: ECAE4B\ntsm: tsm2", "line 13: field 'tsm' repeated",
       gp::Errc::InvalidArgument},
      {"tsm: tsm1\n", "", "tsm: missing", gp::Errc::InvalidArgument},
      {"component-kcv: 3544e0\n", "", "component-kcv: missing", gp::Errc::InvalidArgument},
      {"custodian: 1 of 2\n", "custodian 1 of 2\n", "line 8: expected", gp::Errc::InvalidArgument},
      {"combined-kcv: ECAE4B", "combined-kcv: ECAE4B\ncomponent.enc: 00", "not both", gp::Errc::InvalidArgument},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.from << " -> " << c.to) {
      const std::string sheet = replace(kKekSheet, c.from, c.to);
      BOOST_CHECK_EXCEPTION(gp::parse_key_component(sheet), gp::GpError, [&](const gp::GpError& e) {
        BOOST_TEST_MESSAGE(e.what());
        const std::string m = e.what();
        // A refusal never repeats the component's hex digits.
        return e.code() == c.code && m.find(c.needle) != std::string::npos && m.find("2233 4455") == std::string::npos;
      });
    }
  }
}

BOOST_AUTO_TEST_CASE(master_key_sheets_need_issuer_and_kvn_and_all_three_roles) {
  const std::string base =
      "format: sekds-key-component/1\npurpose: master-key\nissuer: bank\nkvn: 1\nkey-type: DES2\n"
      "custodian: 1 of 3\nkcv-convention: DES3-ECB-ZERO\n";
  const std::string share = "component.enc: 404142434445464748494A4B4C4D4E4F\ncomponent-kcv.enc: 8BAF47\n";
  BOOST_CHECK_EXCEPTION(gp::parse_key_component(base + share), gp::GpError,
                        [](const gp::GpError& e) { return std::string(e.what()).find("component.mac: missing") != std::string::npos; });
  BOOST_CHECK_EXCEPTION(gp::parse_key_component(replace(base, "kvn: 1", "kvn: 256") + share), gp::GpError,
                        has_code(gp::Errc::InvalidArgument));
  BOOST_CHECK_EXCEPTION(gp::parse_key_component(replace(base, "issuer: bank\n", "")), gp::GpError,
                        [](const gp::GpError& e) { return std::string(e.what()).find("issuer: missing") != std::string::npos; });
  // A KEK is one AES key: no per-role shares, no DES.
  const std::string kek = replace(kKekSheet, "component: 0011 2233 4455 6677 8899 AABB CCDD EEFF\ncomponent-kcv: 3544e0\ncombined-kcv: ECAE4B\n", "");
  std::string roles;
  for (const char* r : {"enc", "mac", "dek"})
    roles += std::string("component.") + r + ": 00112233445566778899AABBCCDDEEFF\ncomponent-kcv." + r + ": 3544E0\n";
  BOOST_CHECK_EXCEPTION(gp::parse_key_component(kek + roles), gp::GpError,
                        [](const gp::GpError& e) { return std::string(e.what()).find("one key") != std::string::npos; });
}

BOOST_AUTO_TEST_CASE(format_refuses_what_parse_would_refuse) {
  gp::ComponentSheet c = aes_kek("00112233445566778899AABBCCDDEEFF", "3544E0", 1);
  c.custodian = 3;
  BOOST_CHECK_EXCEPTION(gp::format_key_component(c), gp::GpError, has_code(gp::Errc::InvalidArgument));
  c = aes_kek("00112233445566778899AABBCCDDEEFF", "3544E0", 1);
  c.comments = {"two\nlines"};
  BOOST_CHECK_EXCEPTION(gp::format_key_component(c), gp::GpError, has_code(gp::Errc::InvalidArgument));
  c = aes_kek("00112233445566778899AABBCCDDEEFF", "3544E0", 1);
  c.shares[0].value.pop_back();
  BOOST_CHECK_EXCEPTION(gp::format_key_component(c), gp::GpError, has_code(gp::Errc::InvalidLength));
}

BOOST_AUTO_TEST_CASE(crlf_line_ends_and_blank_lines_are_accepted) {
  std::string sheet;
  for (char ch : kKekSheet) {
    if (ch == '\n') sheet += "\r\n\r\n";
    else sheet += ch;
  }
  const gp::ComponentSheet c = gp::parse_key_component(sheet);
  BOOST_TEST(to_hex(c.shares[0].kcv) == "3544E0");
  BOOST_CHECK_NO_THROW(gp::check_component_kcvs(c));
}

BOOST_AUTO_TEST_SUITE_END()
