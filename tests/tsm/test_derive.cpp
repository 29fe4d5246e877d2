// `sekds-tsm derive` in process: the public vectors through run_derive, every bad option
// with its exact one-line message, the JSON and text forms, key types and layouts.
// (tsm_derive_independent runs the real program against python3-cryptography.)
#include <boost/test/unit_test.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gp/crypto.h"
#include "gp/diversification.h"
#include "support/vectors.h"
#include "tsm/cmd_derive.h"

using namespace sekds;
using gp::to_hex;

namespace {

const std::string kMaster16 = "404142434445464748494A4B4C4D4E4F";
const std::string kKdd = "00010203040506070809";

tsm::DeriveOptions opts(std::string method, std::string master = kMaster16, std::string kdd = kKdd) {
  tsm::DeriveOptions o;
  o.method = std::move(method);
  o.master = std::move(master);
  o.kdd = std::move(kdd);
  return o;
}

// run_derive must refuse `o` with exactly this message.
void expect_refused(const tsm::DeriveOptions& o, const std::string& message) {
  try {
    tsm::run_derive(o);
    BOOST_ERROR("accepted, expected: " << message);
  } catch (const CLI::ValidationError& e) {
    BOOST_TEST(std::string(e.what()) == message);
    BOOST_TEST(e.get_exit_code() != 0);
  }
}

std::string json_of(const tsm::DeriveResult& r) {
  std::ostringstream s;
  tsm::print_derive_json(r, s);
  return s.str();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(derive)

BOOST_AUTO_TEST_CASE(public_vectors_through_the_command) {
  auto j = test::load_vectors("diversification.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      if (!v.contains("kcv")) continue;  // expected_key vectors: covered in tests/gp
      std::string m = v.at("method").get<std::string>();
      std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
      auto r = tsm::run_derive(opts(m, v.at("master").get<std::string>(), v.at("kdd").get<std::string>()));
      const auto& kcv = v.at("kcv");
      BOOST_TEST(to_hex(r.kcv[0]) == kcv.at("ENC").get<std::string>());
      BOOST_TEST(to_hex(r.kcv[1]) == kcv.at("MAC").get<std::string>());
      BOOST_TEST(to_hex(r.kcv[2]) == kcv.at("DEK").get<std::string>());
      BOOST_TEST((r.kcv_alg == (v.at("kcv_alg") == "aes" ? gp::KcvAlg::AesGp : gp::KcvAlg::Des3Zero)));
      ++run;
    }
  }
  BOOST_TEST(run >= 3u);
}

BOOST_AUTO_TEST_CASE(json_is_one_object_with_the_contract_fields) {
  auto r = tsm::run_derive(opts("visa2"));
  const std::string s = json_of(r);
  BOOST_TEST(std::count(s.begin(), s.end(), '\n') == 1);
  auto j = nlohmann::json::parse(s);
  BOOST_TEST(j.at("method") == "visa2");
  BOOST_TEST(j.at("key_type") == "DES2");
  BOOST_TEST(j.at("kcv_alg") == "DES3-ECB-ZERO");
  BOOST_TEST(!j.contains("layout"));
  for (const char* role : {"enc", "mac", "dek"}) {
    const std::string k = j.at(role).get<std::string>();
    BOOST_TEST(k.size() == 32u);
    BOOST_TEST(k.find_first_not_of("0123456789ABCDEF") == std::string::npos, role);
  }
  BOOST_TEST(j.at("kcv").at("enc") == "2BE598");
  BOOST_TEST(j.at("kcv").at("mac") == "58DA38");
  BOOST_TEST(j.at("kcv").at("dek") == "3C328E");
  BOOST_TEST(j.at("enc") == to_hex(gp::view(r.keys.enc)));

  auto k = nlohmann::json::parse(json_of(tsm::run_derive(opts("scp03kdf", kMaster16 + "5051525354555657"))));
  BOOST_TEST(k.at("key_type") == "AES192");
  BOOST_TEST(k.at("kcv_alg") == "AES-ECB-01");
  BOOST_TEST(k.at("layout") == "0000000000000000000000|k|00|L|i|kdd");
  BOOST_TEST(k.at("constants") == "01,02,03");
  BOOST_TEST(k.at("enc").get<std::string>().size() == 48u);
}

BOOST_AUTO_TEST_CASE(text_output_warns_and_shows_kcvs) {
  std::ostringstream s;
  tsm::print_derive_text(tsm::run_derive(opts("emv")), s);
  const std::string t = s.str();
  BOOST_TEST(t.rfind("LAB MATERIAL", 0) == 0u);
  for (const char* kcv : {"C33013", "6F4CA6", "BB8179"}) BOOST_TEST(t.find(kcv) != std::string::npos, kcv);
  BOOST_TEST(t.find("3DES-ECB of 8 zero bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(key_types) {
  BOOST_TEST((tsm::run_derive(opts("none")).key_type == gp::KeyType::Des2));
  BOOST_TEST((tsm::run_derive(opts("none", kMaster16 + "5051525354555657")).key_type == gp::KeyType::Des3));
  BOOST_TEST((tsm::run_derive(opts("none", kMaster16 + kMaster16)).key_type == gp::KeyType::Aes256));
  auto o = opts("none");
  o.key_type = "aes128";
  auto r = tsm::run_derive(o);
  BOOST_TEST((r.key_type == gp::KeyType::Aes128));
  BOOST_TEST((r.kcv_alg == gp::KcvAlg::AesGp));
  BOOST_TEST(to_hex(gp::view(r.keys.enc)) == kMaster16);  // none: the card key is the master
  o.method = "kdf3";
  o.key_type = "AES128";
  BOOST_TEST((tsm::run_derive(o).key_type == gp::KeyType::Aes128));
}

BOOST_AUTO_TEST_CASE(layout_and_constants_reach_the_kdf) {
  auto base = tsm::run_derive(opts("scp03kdf"));
  auto o = opts("scp03kdf");
  o.constants = "04,06,07";
  auto custom = tsm::run_derive(o);
  BOOST_TEST(to_hex(gp::view(custom.keys.enc)) != to_hex(gp::view(base.keys.enc)));
  // the same as the library with that scheme
  auto scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Scp03Kdf);
  scheme.layout = gp::KdfLayout::parse(scheme.layout.spec(), "04,06,07");
  auto lib = gp::diversify_key(scheme, gp::from_hex(kMaster16), gp::from_hex(kKdd), gp::KeyRole::Mac);
  BOOST_TEST(to_hex(gp::view(custom.keys.mac)) == to_hex(gp::view(lib)));
  o.layout = "i|k|kdd";
  BOOST_TEST(tsm::run_derive(o).scheme.layout.spec() == "i|k|kdd");
}

BOOST_AUTO_TEST_CASE(master_from_stdin) {
  std::istringstream in("  " + kMaster16 + "  \n");
  auto* old = std::cin.rdbuf(in.rdbuf());
  tsm::DeriveResult r;
  try {
    r = tsm::run_derive(opts("visa2", "-"));
  } catch (...) {
    std::cin.rdbuf(old);
    throw;
  }
  std::cin.rdbuf(old);
  BOOST_TEST(to_hex(r.kcv[0]) == "2BE598");
  std::istringstream empty("");
  old = std::cin.rdbuf(empty.rdbuf());
  expect_refused(opts("visa2", "-"), "--master: '-' given but stdin has no hex line");
  std::cin.rdbuf(old);
}

BOOST_AUTO_TEST_CASE(bad_input_names_the_option) {
  const std::string k24 = kMaster16 + "5051525354555657";
  expect_refused(opts("visa3"), "--method: unknown method 'visa3' (expected none, visa2, emv, kdf3 or scp03kdf)");
  expect_refused(opts("visa2", kMaster16.substr(1)), "--master: odd number of hex digits");
  expect_refused(opts("visa2", "X" + kMaster16.substr(1)), "--master: not hex (a non-hex character at offset 0)");
  expect_refused(opts("visa2", k24), "--master: visa2 needs a 16-byte (2-key 3DES) master key, got 24 bytes");
  expect_refused(opts("emv", ""), "--master: emv needs a 16-byte (2-key 3DES) master key, got 0 bytes");
  expect_refused(opts("kdf3", kMaster16 + "5051"), "--master: kdf3 needs a 16, 24 or 32-byte master key, got 18 bytes");
  expect_refused(opts("none", "4041"), "--master: none needs a 16, 24 or 32-byte master key, got 2 bytes");
  expect_refused(opts("kdf3", kMaster16, "000102030405060708"), "--kdd: must be 10 bytes, got 9");
  expect_refused(opts("kdf3", kMaster16, "0001020304050607080"), "--kdd: odd number of hex digits");
  expect_refused(opts("kdf3", kMaster16, "00010203040506070G09"), "--kdd: not a hex digit 'G' (at offset 17)");
  auto o = opts("visa2");
  o.layout = "i|k|kdd";
  expect_refused(o, "--layout: only kdf3 and scp03kdf take a layout");
  o = opts("emv");
  o.constants = "01,02,03";
  expect_refused(o, "--constants: only kdf3 and scp03kdf take derivation constants");
  o = opts("kdf3");
  o.layout = "i|00|kdd";
  expect_refused(o, "--layout: KDF layout 'i|00|kdd' must contain i, k and kdd");
  o = opts("kdf3");
  o.constants = "01,02";
  expect_refused(o, "--constants: KDF constants '01,02' must be three hex bytes like 01,02,03");
  o = opts("kdf3");
  o.key_type = "DES2";
  expect_refused(o, "--key-type: kdf3 with a 16-byte master derives AES128 keys, not DES2");
  o = opts("none", k24);
  o.key_type = "AES128";
  expect_refused(o, "--key-type: AES128 keys are 16 bytes, the master is 24");
  o = opts("none");
  o.key_type = "RSA2048";
  expect_refused(o, "--key-type: unknown key type 'RSA2048' (expected DES2, DES3, AES128, AES192 or AES256)");
}

BOOST_AUTO_TEST_CASE(program_parses_like_the_library) {
  // The registered subcommand, driven through CLI11 as main() does.
  CLI::App app{"test", "sekds-tsm"};
  app.require_subcommand(1);
  tsm::register_derive(app);
  std::ostringstream captured;
  auto* old = std::cout.rdbuf(captured.rdbuf());
  try {
    // CLI11 takes the vector in reverse: derive --method kdf3 --master M --kdd K --json
    app.parse(std::vector<std::string>{"--json", kKdd, "--kdd", kMaster16, "--master", "kdf3", "--method", "derive"});
  } catch (...) {
    std::cout.rdbuf(old);
    throw;
  }
  std::cout.rdbuf(old);
  auto j = nlohmann::json::parse(captured.str());
  BOOST_TEST(j.at("kcv").at("enc") == "E79C05");
  CLI::App app2{"test", "sekds-tsm"};
  tsm::register_derive(app2);
  BOOST_CHECK_THROW(app2.parse(std::vector<std::string>{"--kdd", "emv", "--method", "derive"}), CLI::ParseError);
}

BOOST_AUTO_TEST_SUITE_END()
