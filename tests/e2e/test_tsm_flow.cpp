// Steps 1-8 end to end: the real sekds-server of the dev environment (mutual TLS, its HSM and
// store), the real grid, the sekds-tsm program; every demo key set, every SCP / i / level.
#include <boost/test/unit_test.hpp>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "tsm/config.h"
#include "tsm/error.h"
#include "tsm/grid_transport.h"
#include "tsm/kek_registry.h"
#include "tsm/kek_token.h"
#include "tsm/session.h"
#include "tsm/ttp_key_source.h"
#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "world.h"

using namespace sekds;
using namespace sekds::test;

namespace {

std::vector<std::string> levels_for(int scp, const std::string& i) {
  if (scp == 2) return {"01", "03"};
  if (i == "70") return {"01", "03", "11", "13", "33"};
  return {"01", "03"};
}

nlohmann::ordered_json json_of(const RunResult& r) {
  try {
    return nlohmann::ordered_json::parse(r.out);
  } catch (const std::exception&) {
    BOOST_FAIL("not JSON (exit " << r.status << "): " << r.out << r.err);
  }
  return {};
}

bool registry_has(const nlohmann::ordered_json& reg, const std::string& aid, const std::string& lifecycle) {
  for (const auto& e : reg)
    if (e["aid"] == aid && e["lifecycle"] == lifecycle) return true;
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(flow)

BOOST_AUTO_TEST_CASE(every_key_set_every_i_every_level_runs_steps_1_to_8) {
  World& w = World::get();
  for (auto& c : w.cards()) {
    const int scp = scp_of(c.key_set);
    const auto levels = levels_for(scp, c.i);
    BOOST_REQUIRE_GE(c.slots.size(), levels.size());
    for (std::size_t n = 0; n < levels.size(); ++n) {
      BOOST_TEST_CONTEXT(c.describe() << " level " << levels[n] << " slot " << c.slots[n]) {
        const RunResult r = w.tsm("tsm1", {"run", w.script(), "--card", w.card(c.slots[n]), "--level", levels[n], "--json"});
        BOOST_REQUIRE_MESSAGE(r.status == 0, "exit " << r.status << ": " << r.err << r.out);
        const auto j = json_of(r);
        std::vector<std::string> steps;
        for (const auto& s : j["steps"]) steps.push_back(s["step"]);
        BOOST_TEST(steps == (std::vector<std::string>{"discover", "keys", "open", "rotate", "reopen", "script"}));
        BOOST_TEST(j["card"]["url"] == w.manifest()["endpoint"]);
        BOOST_TEST(j["keys"]["source"] == "ttp");
        BOOST_TEST(!j["keys"]["audit_id"].get<std::string>().empty());
        BOOST_TEST(j["keys"]["key_type"] == c.key_set["key_type"]);
        BOOST_TEST(j["session"]["level_byte"] == levels[n]);
        BOOST_TEST(j["session"]["i"] == c.i);
        BOOST_TEST(j["session"]["kvn"] == c.key_set["kvn"]);
        BOOST_TEST(j["reopened"]["kvn"] == 0x40);
        BOOST_TEST(j["reopened"]["level_byte"] == levels[n]);
        BOOST_REQUIRE_EQUAL(j["script"].size(), 5u);
        BOOST_TEST(j["script"][1]["detail"].get<std::string>().find("LOAD blocks") != std::string::npos);
        BOOST_TEST(registry_has(j["script"][3]["registry"], "D2760001180101", "LOADED"));
        BOOST_TEST(registry_has(j["script"][3]["registry"], "D27600011801010101", "SELECTABLE"));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(keys_are_the_demo_keys_under_the_ceremony_kek) {
  World& w = World::get();
  for (const auto& ks : w.manifest()["key_sets"]) {
    BOOST_TEST_CONTEXT(ks["issuer"].get<std::string>()) {
      const int slot = w.spare_card(ks["key_type"]);
      const RunResult r = w.tsm("tsm1", {"keys", "--card", w.card(slot), "--json", "--reveal"});
      BOOST_REQUIRE_MESSAGE(r.status == 0, "exit " << r.status << ": " << r.err << r.out);
      const auto j = json_of(r);
      const auto method = *gp::parse_method(ks["method"].get<std::string>());
      const gp::StaticKeys want = gp::diversify(gp::DiversificationScheme::of(method),
                                                gp::secure_from_hex(ks["master_key_hex"].get<std::string>()),
                                                gp::from_hex(j["card"]["kdd"].get<std::string>()));
      // DES keys may come back parity-adjusted from the HSM: compare modulo parity.
      for (auto role : gp::kKeyRoles) {
        std::string n = gp::key_role_name(role);
        for (auto& ch : n) ch = static_cast<char>(std::tolower(ch));
        const gp::Bytes got = gp::from_hex(j["keys"]["plaintext"][n].get<std::string>());
        const bool des = ks["key_type"] == "DES2";
        BOOST_TEST((des ? gp::equal_des_mod_parity(got, want.of(role)) : got == gp::to_bytes(want.of(role))), n);
      }
      for (const auto& t : w.manifest()["tsms"])
        if (t["name"] == "tsm1") BOOST_TEST(j["keys"]["kek_kcv"] == t["keks"][0]["kcv"]);
      // Without --reveal: KCVs only. (Another card: the server may refuse a repeated sequence
      // counter, and `keys` opens no session, so the first card's counter has not moved.)
      const int other = w.spare_card(ks["key_type"]);
      const RunResult plain = w.tsm("tsm1", {"keys", "--card", w.card(other)});
      BOOST_REQUIRE_EQUAL(plain.status, 0);
      BOOST_TEST(plain.out.find("AuditId") != std::string::npos);
      BOOST_TEST(plain.out.find("ENC KCV") != std::string::npos);
      BOOST_TEST(plain.out.find("(verified)  key") == std::string::npos);  // no plaintext
      // open: steps 1-6.
      const RunResult o = w.tsm("tsm1", {"open", "--card", w.card(w.spare_card(ks["key_type"])), "--json"});
      BOOST_REQUIRE_MESSAGE(o.status == 0, o.err);
      BOOST_TEST(json_of(o)["session"]["level"] == "C-MAC+C-DEC");
    }
  }
}

BOOST_AUTO_TEST_CASE(a_rotated_card_no_longer_opens_with_the_ttps_keys) {
  World& w = World::get();
  const tsm::TsmConfig cfg = tsm::load_config(w.config("tsm1"));
  const tsm::KekRegistry reg = tsm::KekRegistry::load(cfg.kek_token->state_file);
  auto hsm = tsm::open_kek_token(cfg);
  hsm::KekStore keks(*hsm);
  tsm::TtpKeySource ttp(cfg.ttp, keks, reg);
  auto conn = std::make_shared<tsm::GridConnection>("127.0.0.1", tsm::CardSpec::parse(w.card(1)).port);
  for (const auto& ks : w.manifest()["key_sets"]) {
    BOOST_TEST_CONTEXT(ks["issuer"].get<std::string>()) {
      const int slot = w.spare_card(ks["key_type"]);
      tsm::CardKeys old;
      tsm::CardInfo info;
      {
        tsm::GridTransport t(conn, slot);
        info = tsm::discover_card(t);
        old = ttp.card_keys(info, std::nullopt);  // over the real TLS, unwrapped in the token
        tsm::Session::open(t, info, old, gp::SecurityLevel(0x03));  // they open it now
      }
      const RunResult r = w.tsm("tsm1", {"rotate", "--card", w.card(slot)});
      BOOST_REQUIRE_MESSAGE(r.status == 0, r.err);
      tsm::GridTransport t(conn, slot);
      const tsm::CardInfo after = tsm::discover_card(t);
      try {
        tsm::Session::open(t, after, old, gp::SecurityLevel(0x01));
        BOOST_FAIL("the TTP's keys still open the rotated card");
      } catch (const tsm::TsmError& e) {
        BOOST_TEST(e.name() == "SW_REFERENCED_DATA_NOT_FOUND", e.what());  // its key set is gone
      }
      old.kvn = 0x40;
      try {
        tsm::Session::open(t, after, old, gp::SecurityLevel(0x01));
        BOOST_FAIL("the TTP's keys open the TSM's key set");
      } catch (const tsm::TsmError& e) {
        BOOST_TEST(e.name() == "CryptogramMismatch", e.what());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_batch_of_cards_with_several_workers) {
  World& w = World::get();
  // The AES-128 i=70 cards: rotated already when the first test case ran, fresh otherwise;
  // `open` (auto) takes whichever keys each card needs.
  for (auto& c : w.cards()) {
    if (c.key_set["key_type"] != "AES128" || c.i != "70") continue;
    const std::string range = "grid:127.0.0.1:" + std::to_string(tsm::CardSpec::parse(w.card(1)).port) + "/" +
                              std::to_string(c.slots.front()) + "-" + std::to_string(c.slots.back());
    const RunResult r = w.tsm("tsm1", {"open", "--card", range, "--jobs", "2", "--json"});
    BOOST_REQUIRE_MESSAGE(r.status == 0, r.err << r.out);
    BOOST_TEST(json_of(r)["succeeded"] == c.slots.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()
