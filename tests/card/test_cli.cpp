// The sekds-card program: personalise, list, make-loadfile, and what it says when an argument
// is wrong (one line on stderr, a non-zero exit, never the master key).
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "card/load_file.h"
#include "card/sqlite_card_store.h"
#include "card_fixture.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

namespace {

int run(const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> argv{SEKDS_CARD_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return SoftHsmToken::run(argv, out);
}

const std::string kMasterHex = "1F2E3D4C5B6A79880F1E2D3C4B5A6978";

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(personalise_list_json) {
  TempDir dir("sekds-card-cli");
  const std::string db = dir.path() + "/grid.db", key = dir.path() + "/master.hex";
  write_file(key, kMasterHex + "\n", 0600);
  std::string out;
  BOOST_REQUIRE(run({"personalise", "--db", db, "--count", "5", "--issuer", "4242", "--kvn", "0x30", "--scp", "03",
                     "--method", "kdf3", "--master-key-file", key, "--url", "https://ttp.example:8443/sekds/v1", "--json"},
                    &out) == 0);
  const auto made = nlohmann::json::parse(out);
  BOOST_REQUIRE(made["cards"].size() == 5u);
  BOOST_TEST(out.find(kMasterHex) == std::string::npos);
  BOOST_REQUIRE(run({"personalise", "--db", db, "--count", "2", "--issuer", "4243", "--kvn", "32", "--scp", "02", "--i", "15",
                     "--method", "emv", "--master-key-file", key, "--url", "https://ttp.example/sekds/v1",
                     "--management-level", "03"},
                    &out) == 0);
  BOOST_TEST(out.find("slots: 6 7") != std::string::npos);

  BOOST_REQUIRE(run({"list", "--db", db, "--json"}, &out) == 0);
  const auto listed = nlohmann::json::parse(out);
  BOOST_REQUIRE(listed.size() == 7u);
  for (std::size_t i = 0; i < 5; ++i) {
    BOOST_TEST(listed[i]["kdd"] == made["cards"][i]["kdd"]);
    BOOST_TEST(listed[i]["scp"] == "SCP03");
    BOOST_TEST(listed[i]["i"] == "70");
    BOOST_TEST(listed[i]["default_kvn"] == 0x30);
    BOOST_TEST(listed[i]["management_level"] == "01");  // the default: C-MAC
  }
  BOOST_TEST(listed[6]["scp"] == "SCP02");
  BOOST_TEST(listed[6]["i"] == "15");
  BOOST_TEST(listed[6]["key_sets"][0]["kvn"] == 32);
  BOOST_TEST(listed[6]["key_sets"][0]["key_type"] == "DES2");
  BOOST_TEST(listed[6]["management_level"] == "03");
  BOOST_TEST(out.find("enc") == std::string::npos);  // no keys in the listing
  BOOST_REQUIRE(run({"list", "--db", db}, &out) == 0);
  BOOST_TEST(out.find("0x30(AES128)") != std::string::npos);
  BOOST_TEST(out.find("https://ttp.example/sekds/v1") != std::string::npos);

  // The cards hold keys derived from the master and their own KDD (checked with a session).
  card::SqliteCardStore store(db);
  const auto cards = store.load_all();
  const CardSpec spec{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::Kdf3};
  card::Card c(cards.at(2), nullptr);
  auto host = gp::make_host_session(
      gp::Scp::Scp03,
      gp::diversify(gp::DiversificationScheme::of(spec.method), gp::from_hex(kMasterHex), c.state().identity.kdd), {});
  BOOST_CHECK_NO_THROW(gp::open_secure_channel(*host, [&](gp::ByteView b) { return c.transmit(b); }, 0x30, gp::SecurityLevel(3)));
}

BOOST_AUTO_TEST_CASE(wrong_arguments) {
  TempDir dir("sekds-card-cli");
  const std::string db = dir.path() + "/grid.db", key = dir.path() + "/master.hex", bad = dir.path() + "/bad.hex";
  write_file(key, kMasterHex + "\n", 0600);
  write_file(bad, kMasterHex.substr(0, 20) + "XY" + kMasterHex.substr(22) + "\n", 0600);
  const std::vector<std::string> base{"personalise", "--db", db, "--count", "1", "--issuer", "4242", "--kvn", "1",
                                      "--url", "https://ttp.example/"};
  struct Bad {
    std::vector<std::string> extra;
    const char* says;
  };
  const std::vector<Bad> table = {
      {{"--scp", "04", "--method", "kdf3", "--master-key-file", key}, "--scp"},
      {{"--scp", "02", "--method", "kdf3", "--master-key-file", key}, "SCP02 cannot use AES128"},
      {{"--scp", "03", "--method", "blah", "--master-key-file", key}, "--method"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", bad}, "not one line of hex"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", dir.path() + "/none"}, "cannot read"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", key, "--i", "0F"}, "--i"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", key, "--key-type", "DES2"}, "--key-type"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", key, "--management-level", "07"},
       "--management-level: 07 is not a security level"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", key, "--i", "00", "--management-level", "13"},
       "--management-level: security level 13 needs R-MAC"},
      {{"--scp", "03", "--method", "kdf3", "--master-key-file", key, "--management-level", "x"}, "--management-level"},
  };
  for (const auto& b : table) {
    std::vector<std::string> args = base;
    args.insert(args.end(), b.extra.begin(), b.extra.end());
    std::string out;
    BOOST_TEST_CONTEXT(b.says) {
      BOOST_TEST(run(args, &out) != 0);
      BOOST_TEST(out.find(b.says) != std::string::npos, "output: " << out);
      BOOST_TEST(out.find(kMasterHex.substr(0, 12)) == std::string::npos);  // never the key
    }
  }
  std::string out;
  BOOST_TEST(run({"list", "--db", dir.path() + "/missing.db"}, &out) != 0);
  BOOST_TEST(run({"serve", "--db", db}, &out) != 0);  // db missing, and neither --grid nor --vpcd
  BOOST_TEST(run({}, &out) != 0);
  // Nothing was written by the refused runs.
  BOOST_TEST(!std::ifstream(db).good());
}

BOOST_AUTO_TEST_CASE(make_loadfile) {
  TempDir dir("sekds-card-cli");
  const std::string f = dir.path() + "/applet.cap";
  std::string out;
  BOOST_REQUIRE(run({"make-loadfile", "--package", "A0000001515350", "--applet", "A000000151535041", "--applet",
                     "A000000151535042", "--size", "9216", "--out", f},
                    &out) == 0);
  std::ifstream in(f, std::ios::binary);
  const Bytes file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  BOOST_TEST(file.size() == 9216u);
  const auto info = card::parse_load_file(file);
  BOOST_TEST(gp::to_hex(info.package_aid) == "A0000001515350");
  BOOST_TEST(info.applet_aids.size() == 2u);
  BOOST_TEST(run({"make-loadfile", "--package", "A000", "--size", "100", "--out", f}, &out) != 0);
  BOOST_TEST(run({"make-loadfile", "--package", "A0000001515350", "--size", "10", "--out", f}, &out) != 0);
}

BOOST_AUTO_TEST_SUITE_END()
