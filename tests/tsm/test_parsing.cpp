// Pure parsing of what the user gives: --card specs, --level, --kvn, status-word patterns,
// scripts (with the line of every error), and the configuration file.
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>

#include "gp/error.h"
#include "tsm/card_transport.h"
#include "tsm/cmd_common.h"
#include "tsm/config.h"
#include "tsm/error.h"
#include "tsm/script.h"
#include "tsm/session.h"

using namespace sekds;
using tsm::TsmErrc;

namespace {

template <class F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == TsmErrc::Usage || e.code() == TsmErrc::Config));
    return e.what();
  }
  BOOST_FAIL("no error");
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parsing)

BOOST_AUTO_TEST_CASE(card_specs) {
  auto g = tsm::CardSpec::parse("grid:127.0.0.1:9000/3");
  BOOST_TEST((g.kind == tsm::CardSpec::Kind::Grid));
  BOOST_TEST(g.host == "127.0.0.1");
  BOOST_TEST(g.port == 9000);
  BOOST_TEST(g.first_slot == 3);
  BOOST_TEST(!g.is_range());
  BOOST_TEST(g.describe() == "grid:127.0.0.1:9000/3");

  auto r = tsm::CardSpec::parse("grid:localhost:9000/1-1000");
  BOOST_TEST(r.is_range());
  BOOST_TEST(r.count() == 1000u);
  BOOST_TEST(r.describe() == "grid:localhost:9000/1-1000");

  auto v6 = tsm::CardSpec::parse("grid:[::1]:9000/2");
  BOOST_TEST(v6.host == "::1");
  BOOST_TEST(v6.grid_address() == "[::1]:9000");

  auto p = tsm::CardSpec::parse("pcsc:Virtual PCD 00 00");
  BOOST_TEST((p.kind == tsm::CardSpec::Kind::Pcsc));
  BOOST_TEST(p.reader == "Virtual PCD 00 00");

  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("usb:1"); }).find("unknown transport") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("pcsc:"); }).find("no reader") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host:9000"); }).find("/SLOT") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host/1"); }).find(":PORT") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host:0/1"); }).find("1..65535") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host:70000/1"); }).find("1..65535") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host:9000/x"); }).find("not a number") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid:host:9000/5-2"); }).find("ends before") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::CardSpec::parse("grid::9000/1"); }).find("empty host") != std::string::npos);
  // One command, many cards: refused before any connection.
  BOOST_TEST(usage_error([] { tsm::open_card(tsm::CardSpec::parse("grid:127.0.0.1:1/1-2")); }).find("2 cards") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(levels_and_kvns) {
  BOOST_TEST(tsm::parse_level("cmac").byte() == 0x01);
  BOOST_TEST(tsm::parse_level("cmac+cdec").byte() == 0x03);
  BOOST_TEST(tsm::parse_level("C-MAC+C-DEC+R-MAC").byte() == 0x13);
  BOOST_TEST(tsm::parse_level("cmac+cdec+rmac+renc").byte() == 0x33);
  BOOST_TEST(tsm::parse_level("cmac+rmac").byte() == 0x11);
  BOOST_TEST(tsm::parse_level("33").byte() == 0x33);
  BOOST_TEST(tsm::parse_level("0x03").byte() == 0x03);
  BOOST_TEST(tsm::parse_level("none").byte() == 0x00);
  BOOST_TEST(usage_error([] { tsm::parse_level("07"); }).find("not one GlobalPlatform defines") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::parse_level("fast"); }).find("not a security level") != std::string::npos);
  BOOST_TEST(tsm::level_text(gp::SecurityLevel(0x33)) == "C-MAC+C-DEC+R-MAC+R-ENC");

  BOOST_TEST(tsm::parse_kvn("48") == 48);
  BOOST_TEST(tsm::parse_kvn("0x30") == 0x30);
  BOOST_TEST(usage_error([] { tsm::parse_kvn("0"); }).find("1..127") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::parse_kvn("200"); }).find("1..127") != std::string::npos);
  BOOST_TEST(usage_error([] { tsm::parse_kvn("3x"); }).find("1..127") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(status_word_patterns) {
  auto p = tsm::SwPattern::parse("61XX");
  BOOST_TEST(p.matches(0x6110));
  BOOST_TEST(p.matches(0x61FF));
  BOOST_TEST(!p.matches(0x6210));
  BOOST_TEST(p.text() == "61XX");
  BOOST_TEST(tsm::SwPattern::parse("6a88").matches(0x6A88));
  BOOST_TEST(!tsm::SwPattern{}.matches(0x6A88));
  BOOST_TEST(tsm::SwPattern{}.matches(0x9000));
  usage_error([] { tsm::SwPattern::parse("900"); });
  usage_error([] { tsm::SwPattern::parse("90G0"); });
}

BOOST_AUTO_TEST_CASE(script_parsing) {
  const std::string dir = "/tmp/sekds-tsm-script-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  {
    // A CAP Header component (tag 01) with package AID D2760001180101, as hex text.
    std::ofstream(dir + "/pkg.hex") << "01 0011 DECAFFED 0102 04 0001 07 D2760001180101\n";
    std::ofstream(dir + "/broken.cap") << "not a load file at all";
  }
  const tsm::Script s = tsm::Script::parse(
      "# comment only\n"
      "\n"
      "80 CA 00 CF 00   # spaced hex\n"
      "80CA00FE00 -> 6A88\n"
      "80CA00C100->61xx\n"
      "get-status\n"
      "load pkg.hex\n"
      "install D2760001180101 D276000118010101 D27600011801010101\n"
      "delete D27600011801010101 related\n"
      "store-data 01020304\n",
      dir, "s.txt");
  BOOST_REQUIRE_EQUAL(s.commands.size(), 8u);
  BOOST_TEST(s.commands[0].line == 3);
  BOOST_TEST(s.commands[0].apdu.ins == 0xCA);
  BOOST_TEST(s.commands[0].expect.text() == "9000");
  BOOST_TEST(s.commands[1].expect.text() == "6A88");
  BOOST_TEST(s.commands[2].expect.text() == "61XX");
  BOOST_TEST((s.commands[3].kind == tsm::ScriptCommand::Kind::GetStatus));
  BOOST_TEST((s.commands[4].kind == tsm::ScriptCommand::Kind::Load));
  BOOST_TEST(s.commands[4].load_file.size() == 20u);
  BOOST_TEST(s.commands[5].aid3 == gp::from_hex("D27600011801010101"));
  BOOST_TEST(s.commands[6].related);
  BOOST_TEST(s.commands[7].data == gp::from_hex("01020304"));

  auto err = [&](const std::string& text) { return usage_error([&] { tsm::Script::parse(text, dir, "s.txt"); }); };
  BOOST_TEST(err("get-status\nfrobnicate 1\n").find("s.txt:2: unknown command 'frobnicate'") != std::string::npos);
  BOOST_TEST(err("80CA00CF0\n").find("s.txt:1:") != std::string::npos);                  // odd hex
  BOOST_TEST(err("80CA\n").find("s.txt:1:") != std::string::npos);                       // not an APDU
  BOOST_TEST(err("80CA00CF00 -> 9\n").find("4 hex digits") != std::string::npos);
  BOOST_TEST(err("\n\ninstall A000000001 B000000001\n").find("s.txt:3: usage: install") != std::string::npos);
  BOOST_TEST(err("delete 0102\n").find("5 to 16 bytes") != std::string::npos);
  BOOST_TEST(err("load missing.cap\n").find("cannot read") != std::string::npos);
  BOOST_TEST(err("load broken.cap\n").find("Header component") != std::string::npos);
  BOOST_TEST(err("store-data\n").find("usage: store-data") != std::string::npos);
  BOOST_TEST(err("get-status now\n").find("usage: get-status") != std::string::npos);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(configuration) {
  const std::string text = R"(
kek_index = 3
level = "cmac+cdec+rmac"
retries = 1

[[ttp]]
url_prefix = "https://localhost:8443/"
certificate = "tsm1.crt"
private_key = "/abs/tsm1.key"
ca = "ca.crt"

[[ttp]]
url_prefix = "https://localhost:8443/sekds/"
endpoint = "https://127.0.0.1:8443/sekds/v1"
certificate = "a.crt"
private_key = "a.key"
ca = "ca.crt"
kek_index = 9

[kek_token]
token = "tsm"
pin = "file:user.pin"

[[own_keys]]
scp = 3
kvn = 0x40
method = "kdf3"
master_key_file = "own.key"
key_type = "AES128"
)";
  const tsm::TsmConfig c = tsm::parse_config(text, "/etc/sekds/tsm.toml");
  BOOST_TEST(c.ttp.kek_index == 3u);
  BOOST_TEST(c.level == 0x13);
  BOOST_TEST(c.ttp.retries == 1u);
  BOOST_REQUIRE_EQUAL(c.ttp.endpoints.size(), 2u);
  BOOST_TEST(c.ttp.endpoints[0].certificate == "/etc/sekds/tsm1.crt");
  BOOST_TEST(c.ttp.endpoints[0].private_key == "/abs/tsm1.key");
  BOOST_TEST(*c.ttp.endpoints[1].kek_index == 9u);
  BOOST_REQUIRE(c.kek_token);
  BOOST_TEST(c.kek_token->pin == "file:/etc/sekds/user.pin");
  BOOST_TEST(c.kek_token->state_file == "/etc/sekds/kek-state.json");
  BOOST_REQUIRE_EQUAL(c.own_keys.size(), 1u);
  BOOST_TEST(c.own_keys[0].kvn == 0x40);
  // The longest prefix wins.
  BOOST_TEST(tsm::match_endpoint(c.ttp.endpoints, "https://localhost:8443/sekds/v1") == &c.ttp.endpoints[1]);
  BOOST_TEST(tsm::match_endpoint(c.ttp.endpoints, "https://localhost:8443/other") == &c.ttp.endpoints[0]);
  BOOST_TEST(!tsm::match_endpoint(c.ttp.endpoints, "https://ttp.example/"));

  auto err = [](const std::string& t) { return usage_error([&] { tsm::parse_config(t, "/x/tsm.toml"); }); };
  BOOST_TEST(err("colour = 1\n").find("colour: unknown key") != std::string::npos);
  BOOST_TEST(err("kek_index = \"one\"\n").find("kek_index: must be an integer") != std::string::npos);
  BOOST_TEST(err("[[ttp]]\nurl_prefix = \"http://x/\"\ncertificate=\"a\"\nprivate_key=\"b\"\nca=\"c\"\n")
                 .find("ttp[0].url_prefix: must start with https://") != std::string::npos);
  BOOST_TEST(err("[[ttp]]\nurl_prefix = \"https://x/\"\n").find("ttp[0].certificate: missing") != std::string::npos);
  BOOST_TEST(err("[kek_token]\ntoken=\"t\"\npin=\"123456\"\n").find("never the PIN itself") != std::string::npos);
  BOOST_TEST(err("[[own_keys]]\nkvn = 200\nmethod=\"kdf3\"\nmaster_key_file=\"k\"\n").find("own_keys[0].kvn: must be 1..127") !=
             std::string::npos);
  BOOST_TEST(err("[[own_keys]]\nkvn = 2\nmethod=\"md5\"\nmaster_key_file=\"k\"\n").find("unknown method") != std::string::npos);
  BOOST_TEST(err("level = \"max\"\n").find("level:") != std::string::npos);
  BOOST_TEST(err("kek_index = [\n").find("/x/tsm.toml:") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(own_key_files_and_sets) {
  const std::string dir = "/tmp/sekds-tsm-own-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& content, std::filesystem::perms mode) {
    std::ofstream(dir + "/" + name) << content;
    std::filesystem::permissions(dir + "/" + name, mode);
  };
  using P = std::filesystem::perms;
  write("aes.key", "# own master\n00112233445566778899AABBCCDDEEFF\n", P::owner_read | P::owner_write);
  write("open.key", "00112233445566778899AABBCCDDEEFF\n", P::owner_read | P::owner_write | P::others_read);
  write("nothex.key", "SECRETSECRETSECRET\n", P::owner_read | P::owner_write);
  BOOST_TEST(tsm::read_key_file(dir + "/aes.key").size() == 16u);
  BOOST_TEST(usage_error([&] { tsm::read_key_file(dir + "/open.key"); }).find("chmod 600") != std::string::npos);
  const std::string msg = usage_error([&] { tsm::read_key_file(dir + "/nothex.key"); });
  BOOST_TEST(msg.find("not hex") != std::string::npos);
  BOOST_TEST(msg.find("SECRET") == std::string::npos);  // never echoes the file
  usage_error([&] { tsm::read_key_file(dir + "/missing.key"); });

  const std::string cfg = "[[own_keys]]\nscp = 2\nkvn = 0x40\nmethod = \"kdf3\"\nmaster_key_file = \"aes.key\"\n";
  const tsm::TsmConfig c = tsm::parse_config(cfg, dir + "/tsm.toml");
  BOOST_TEST(usage_error([&] { tsm::make_local_key_source(c); }).find("SCP02 cannot use AES128") != std::string::npos);
  const tsm::TsmConfig ok = tsm::parse_config(
      "[[own_keys]]\nscp = 3\nkvn = 0x40\nmethod = \"kdf3\"\nmaster_key_file = \"aes.key\"\n", dir + "/tsm.toml");
  auto src = tsm::make_local_key_source(ok);
  BOOST_TEST(src.sets().size() == 1u);
  BOOST_TEST((src.sets()[0].key_type == gp::KeyType::Aes128));
  BOOST_TEST(src.find_for(gp::Scp::Scp03) != nullptr);
  BOOST_TEST(src.find_for(gp::Scp::Scp02) == nullptr);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(t0_transmission)

// A card at the T=0 level: 6Cxx for a wrong Le, 61xx chains for long answers.
BOOST_AUTO_TEST_CASE(get_response_and_exact_le) {
  std::vector<std::string> sent;
  auto card = [&](gp::ByteView c) -> gp::Bytes {
    sent.push_back(gp::to_hex(c));
    const std::string cmd = gp::to_hex(c);
    if (cmd == "80CA00CF00") return gp::from_hex("6C0D");
    if (cmd == "80CA00CF0D") return gp::from_hex("CF0A01020304050607080910" "6108");
    if (cmd == "00C0000008") return gp::from_hex("AABBCCDDEEFF0011" "6102");
    if (cmd == "00C0000002") return gp::from_hex("2233" "9000");
    return gp::from_hex("6D00");
  };
  const gp::Bytes r = tsm::transmit_complete(card, gp::from_hex("80CA00CF00"));
  BOOST_TEST(gp::to_hex(r) == "CF0A01020304050607080910AABBCCDDEEFF001122339000");
  BOOST_TEST(sent == (std::vector<std::string>{"80CA00CF00", "80CA00CF0D", "00C0000008", "00C0000002"}));
  // Plain answers pass unchanged; an endless 61xx chain is an error, not a hang.
  BOOST_TEST(gp::to_hex(tsm::transmit_complete(card, gp::from_hex("00A4040000"))) == "6D00");
  auto endless = [](gp::ByteView) { return gp::from_hex("6101"); };
  BOOST_CHECK_THROW(tsm::transmit_complete(endless, gp::from_hex("80CA00CF00")), tsm::TsmError);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(example_configuration)

// The example shipped in src/tsm parses (a documented example that does not would mislead).
BOOST_AUTO_TEST_CASE(the_example_parses) {
  const std::string path = std::string(SEKDS_SOURCE_DIR) + "/src/tsm/sekds-tsm.example.toml";
  const tsm::TsmConfig c = tsm::load_config(path);
  BOOST_TEST(c.ttp.endpoints.size() == 1u);
  BOOST_TEST(c.level == 0x03);
  BOOST_REQUIRE(c.kek_token);
  BOOST_TEST(c.kek_token->pin.rfind("file:/", 0) == 0u);
  BOOST_TEST(c.own_keys.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ttp_files)

BOOST_AUTO_TEST_CASE(missing_files_and_open_private_keys_are_refused) {
  const std::string dir = "/tmp/sekds-tsm-files-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  using P = std::filesystem::perms;
  for (const char* f : {"c.crt", "ca.crt", "k.key"}) std::ofstream(dir + "/" + f) << "PEM\n";
  std::filesystem::permissions(dir + "/k.key", P::owner_read | P::owner_write);
  const std::string base = "[[ttp]]\nurl_prefix = \"https://x/\"\ncertificate = \"c.crt\"\nca = \"ca.crt\"\n";
  tsm::check_ttp_files(tsm::parse_config(base + "private_key = \"k.key\"\n", dir + "/t.toml"));
  BOOST_TEST(usage_error([&] { tsm::check_ttp_files(tsm::parse_config(base + "private_key = \"none.key\"\n", dir + "/t.toml")); })
                 .find("ttp[0].private_key") != std::string::npos);
  std::filesystem::permissions(dir + "/k.key", P::owner_read | P::owner_write | P::others_read);
  BOOST_TEST(usage_error([&] { tsm::check_ttp_files(tsm::parse_config(base + "private_key = \"k.key\"\n", dir + "/t.toml")); })
                 .find("chmod 600") != std::string::npos);
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
