// The sekds-tsm program itself, run as a child process: kek import/list against a throwaway
// SoftHSM token, info / keys / open / rotate / run against a real grid child and the real TLS
// server (software TTP in this process), batch runs, and every failure's message and exit code.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "card/load_file.h"
#include "gp/crypto.h"
#include "gp/kcv.h"
#include "kek_sheets.h"
#include "support.h"
#include "support/softhsm_token.h"
#include "virtual_card.h"

using namespace sekds;
using namespace sekds::test;

namespace {

struct CliFixture {
  ScratchDir dir{"sekds-tsm-cli"};
  SoftHsmToken token{"tsm-kek"};
  gp::SecureBytes kek = gp::random_secure(32);
  TtpSimulator ttp;
  TtpServer server{ttp};
  std::vector<int> aes_slots, des_slots;
  std::unique_ptr<GridChild> grid;
  std::string config = dir / "tsm.toml";

  CliFixture() {
    ttp.set_kek(1, kek);
    write_private(dir / "issuer-aes.hex", std::string(kAes128Master) + "\n");
    write_private(dir / "own-aes.hex", std::string(kOwnAesMaster) + "\n");
    write_private(dir / "own-des.hex", std::string(kOwnDesMaster) + "\n");
    const std::string db = dir / "grid.db";
    aes_slots = personalise_cards(db, 4, "03", "70", "kdf3", dir / "issuer-aes.hex", server.endpoint());
    grid = std::make_unique<GridChild>(db);
    CardProfile p = all_profiles()[4];
    TtpSimulator::Issuer i;
    i.scheme = gp::DiversificationScheme::of(p.method);
    i.key_type = p.key_type;
    i.master = gp::secure_from_hex(p.master);
    i.kvn = 1;
    i.scp = 3;
    ttp.set_issuer(std::move(i));
    write_private(config, "kek_index = 1\n"
                          "[[ttp]]\n"
                          "url_prefix = \"https://localhost:" + std::to_string(server.port()) + "/\"\n"
                          "certificate = \"" + pki().crt("tsm1") + "\"\n"
                          "private_key = \"" + pki().key("tsm1") + "\"\n"
                          "ca = \"" + pki().crt("ca") + "\"\n"
                          "[kek_token]\n"
                          "module = \"" + SoftHsmToken::module_path() + "\"\n"
                          "token = \"" + token.label() + "\"\n"
                          "pin = \"" + token.user_pin_source() + "\"\n"
                          "[[own_keys]]\nscp = 3\nkvn = 0x40\nmethod = \"kdf3\"\nmaster_key_file = \"own-aes.hex\"\n"
                          "[[own_keys]]\nscp = 2\nkvn = 0x40\nmethod = \"emv\"\nmaster_key_file = \"own-des.hex\"\n");
  }
  RunResult tsm(std::vector<std::string> args) const {
    args.insert(args.begin(), SEKDS_TSM_BIN);
    return run_process(args, {"SEKDS_TSM_CONFIG=" + config});
  }
  std::string card(int slot) const { return grid->spec(slot); }
  void import_kek() {
    const auto files = write_kek_sheets(dir.path(), 1, kek);
    const RunResult r = tsm({"kek", "import", "--index", "1", "--component", files[0], "--component", files[1]});
    BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  }
};

nlohmann::ordered_json json_of(const RunResult& r) {
  try {
    return nlohmann::ordered_json::parse(r.out);  // ordered: the URL must come first
  } catch (const std::exception& e) {
    BOOST_FAIL("not JSON: " << r.out << r.err);
  }
  return {};
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cli, CliFixture)

BOOST_AUTO_TEST_CASE(kek_import_and_list) {
  const auto files = write_kek_sheets(dir.path(), 1, kek);
  RunResult r = tsm({"kek", "import", "--index", "1", "--component", files[0], "--component", files[1], "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  BOOST_TEST(json_of(r)["kcv"] == gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, kek)));
  // The component values never appear in the output.
  BOOST_TEST(r.out.find(gp::to_hex(kek)) == std::string::npos);
  r = tsm({"kek", "import", "--index", "1", "--component", files[0], "--component", files[1]});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("imported already") != std::string::npos);
  SheetOptions bad;
  bad.wrong_combined_kcv = true;
  const auto wrong = write_kek_sheets(dir.path(), 2, gp::random_secure(32), bad);
  r = tsm({"kek", "import", "--index", "2", "--component", wrong[0], "--component", wrong[1]});
  BOOST_TEST(r.status == 6);
  BOOST_TEST(r.err.find("nothing was stored") != std::string::npos);
  r = tsm({"kek", "list", "--json"});
  BOOST_REQUIRE(r.status == 0);
  const auto keks = json_of(r)["keks"];
  BOOST_REQUIRE_EQUAL(keks.size(), 1u);
  BOOST_TEST(keks[0]["index"] == 1);
  r = tsm({"kek", "import", "--index", "3", "--component", files[0]});
  BOOST_TEST(r.status == 2);

  // --check: every recorded KEK must be in the token.
  r = tsm({"kek", "list", "--check", "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.err);
  BOOST_TEST(json_of(r)["keks"][0]["in_token"] == true);
  std::ifstream st(dir / "kek-state.json");
  nlohmann::json state = nlohmann::json::parse(st);
  nlohmann::json ghost = state["keks"][0];
  ghost["index"] = 9;
  ghost["label"] = "sekds-tsm/kek/9";
  state["keks"].push_back(ghost);
  write_private(dir / "kek-state.json", state.dump());
  r = tsm({"kek", "list", "--check"});
  BOOST_TEST(r.status == 7);
  BOOST_TEST(r.out.find("MISSING FROM THE TOKEN") != std::string::npos, r.out);
  BOOST_TEST(r.err.find("KEK 9 recorded") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(info_keys_open_rotate_run) {
  import_kek();
  // info: the URL first.
  RunResult r = tsm({"info", "--card", card(aes_slots[0])});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.err);
  BOOST_TEST(r.out.rfind("TTP URL           " + server.endpoint(), 0) == 0u);
  r = tsm({"info", "--card", card(aes_slots[0]), "--json"});
  BOOST_TEST(json_of(r).begin().key() == "url");

  // keys: KCVs and AuditId, no plaintext unless --reveal.
  r = tsm({"keys", "--card", card(aes_slots[0]), "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  nlohmann::ordered_json j = json_of(r);
  BOOST_TEST(j["ok"] == true);
  BOOST_TEST(j["keys"]["audit_id"].get<std::string>().rfind("audit-", 0) == 0u);
  BOOST_TEST(!j["keys"].contains("plaintext"));
  const std::string kdd = j["card"]["kdd"];
  const gp::StaticKeys want = gp::diversify(gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3),
                                            gp::secure_from_hex(kAes128Master), gp::from_hex(kdd));
  BOOST_TEST(r.out.find(gp::to_hex(want.enc)) == std::string::npos);
  BOOST_TEST(j["keys"]["kcv"]["enc"] == gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, want.enc)));
  r = tsm({"keys", "--card", card(aes_slots[0]), "--json", "--reveal"});
  BOOST_TEST(json_of(r)["keys"]["plaintext"]["enc"] == gp::to_hex(want.enc));
  r = tsm({"keys", "--card", card(aes_slots[0])});
  BOOST_TEST(r.out.find("AuditId") != std::string::npos);
  BOOST_TEST(r.out.find("[discover") != std::string::npos);  // each step with its duration
  BOOST_TEST(r.out.find(" ms]") != std::string::npos);

  // open at C-MAC+C-DEC+R-MAC (i=70 offers it).
  r = tsm({"open", "--card", card(aes_slots[0]), "--level", "cmac+cdec+rmac", "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  j = json_of(r);
  BOOST_TEST(j["session"]["level_byte"] == "13");
  BOOST_TEST(j["session"]["i"] == "70");

  // rotate, then open again: the TSM's own keys (auto) open it.
  r = tsm({"rotate", "--card", card(aes_slots[0]), "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  BOOST_TEST(json_of(r)["reopened"]["kvn"] == 0x40);
  r = tsm({"open", "--card", card(aes_slots[0]), "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  BOOST_TEST(json_of(r)["session"]["keys"] == "own");
  // ... and the TTP's keys no longer do.
  r = tsm({"open", "--card", card(aes_slots[0]), "--keys", "ttp", "--kvn", "1"});
  BOOST_TEST(r.status == 2);  // KVN 01 is not on the card any more: refused before the TTP is asked

  // run: steps 1-8 with a script (LOAD of a 9 KB load file + INSTALL).
  card::LoadFileSpec spec;
  spec.package_aid = gp::from_hex("D2760001180101");
  spec.applet_aids = {gp::from_hex("D276000118010101")};
  spec.size = 9 * 1024;
  const gp::Bytes lf = card::make_load_file(spec);
  write_private(dir / "applet.cap", std::string(lf.begin(), lf.end()));
  write_private(dir / "script.txt", "get-status\nload applet.cap\ninstall D2760001180101 D276000118010101 D27600011801010101\n"
                                    "80CA00CF00\n");
  r = tsm({"run", dir / "script.txt", "--card", card(aes_slots[1]), "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  j = json_of(r);
  std::vector<std::string> steps;
  for (const auto& s : j["steps"]) steps.push_back(s["step"]);
  BOOST_TEST(steps == (std::vector<std::string>{"discover", "keys", "open", "rotate", "reopen", "script"}));
  BOOST_TEST(j["script"].size() == 4u);
}

BOOST_AUTO_TEST_CASE(failures_have_names_and_exit_codes) {
  import_kek();
  ttp.fault = service::Fault{service::FaultCode::KekNotActive, "KEK 1 of tsm1 is retired"};
  RunResult r = tsm({"keys", "--card", card(aes_slots[2])});
  BOOST_TEST(r.status == 3);
  BOOST_TEST(r.err.find("TTP refused: KekNotActive: KEK 1 of tsm1 is retired") != std::string::npos, r.err);
  r = tsm({"keys", "--card", card(aes_slots[2]), "--json"});
  BOOST_TEST(r.status == 3);
  BOOST_TEST(json_of(r)["error"]["name"] == "KekNotActive");
  ttp.fault.reset();

  ttp.tamper = [](service::GetKeysResponse& k) { k.enc.kcv[0] ^= 1; };
  r = tsm({"keys", "--card", card(aes_slots[2])});
  BOOST_TEST(r.status == 6);
  BOOST_TEST(r.err.find("keys refused: ENC KCV") != std::string::npos, r.err);
  ttp.tamper = nullptr;

  r = tsm({"info", "--card", "grid:127.0.0.1:" + std::to_string(grid->port()) + "/999"});
  BOOST_TEST(r.status == 5);
  BOOST_TEST(r.err.find("ERR SLOT") != std::string::npos, r.err);
  r = tsm({"info", "--card", "usb:1"});
  BOOST_TEST(r.status == 2);
  r = tsm({"open", "--card", card(aes_slots[2]), "--level", "07"});
  BOOST_TEST(r.status == 2);
  r = run_process({SEKDS_TSM_BIN, "keys", "--card", card(aes_slots[2])}, {"SEKDS_TSM_CONFIG="});
  BOOST_TEST(r.status == 2);
  BOOST_TEST(r.err.find("no configuration") != std::string::npos);
  // The KEK token refuses the PIN: named, exit 7, and never retried (a retry could lock it).
  {
    std::ifstream in(config);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string pin_line = "pin = \"" + token.user_pin_source() + "\"";
    text.replace(text.find(pin_line), pin_line.size(), "pin = \"file:wrong.pin\"");
    write_private(dir / "wrong.pin", "000000\n");
    write_private(dir / "wrong-pin.toml", text);
    r = run_process({SEKDS_TSM_BIN, "keys", "--card", card(aes_slots[2]), "--config", dir / "wrong-pin.toml"});
    BOOST_TEST(r.status == 7, r.err);
    BOOST_TEST(r.err.find("KEK token") != std::string::npos, r.err);
  }
  const std::uint16_t port = grid->port();
  grid->stop();
  r = tsm({"info", "--card", "grid:127.0.0.1:" + std::to_string(port) + "/1"});
  BOOST_TEST(r.status == 5);
  BOOST_TEST(r.err.find("cannot connect") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(batch_over_a_slot_range) {
  import_kek();
  const std::string range = "grid:127.0.0.1:" + std::to_string(grid->port()) + "/" + std::to_string(aes_slots.front()) + "-" +
                            std::to_string(aes_slots.back());
  RunResult r = tsm({"rotate", "--card", range, "--jobs", "2", "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  nlohmann::ordered_json j = json_of(r);
  BOOST_TEST(j["succeeded"] == aes_slots.size());
  BOOST_TEST(j["jobs"] == 2);
  BOOST_TEST(j["flows_per_second"].get<double>() > 0.0);
  r = tsm({"open", "--card", range, "--jobs", "2"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.out + r.err);
  BOOST_TEST(r.out.find(std::to_string(aes_slots.size()) + " cards, " + std::to_string(aes_slots.size()) + " ok, 0 failed") !=
             std::string::npos);
  r = tsm({"keys", "--card", range, "--reveal"});
  BOOST_TEST(r.status == 2);  // never plaintext for many cards
}

BOOST_AUTO_TEST_SUITE_END()
