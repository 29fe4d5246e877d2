// bench_tsm_flows: how many full TSM flows per second the batch engine of sekds-tsm sustains
// on this machine, against a grid of N cards (`sekds-card serve --grid`, a separate process)
// and the real mutual-TLS sekds server in this process with a software TTP behind it (AES key
// wrap in software; the TSM unwraps in a throwaway SoftHSM token, as in production).
//
// Each goal is run over the whole grid in the same run, so the figures are comparable:
//   discover  SELECT + GET DATA of 8 tags                      (grid round trips only)
//   keys      + one SOAP call over a keep-alive TLS connection per worker, 3 unwraps, KCVs
//   open      + INITIALIZE UPDATE / EXTERNAL AUTHENTICATE
//   rotate    + PUT KEY and a second handshake with the new keys     (steps 1-7)
//   run       + a script (GET STATUS, STORE DATA) on cards already rotated   (steps 1-8, own keys)
// Output: one JSON object with flows/s per goal and the ratio of each to `discover`.
#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "gp/crypto.h"
#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "kek_sheets.h"
#include "service/logging.h"
#include "service/tls_init.h"
#include "support.h"
#include "support/softhsm_token.h"
#include "tsm/batch.h"
#include "tsm/kek_import.h"
#include "tsm/local_key_source.h"
#include "tsm/ttp_key_source.h"

using namespace sekds;
using namespace sekds::test;

int main(int argc, char** argv) {
  CLI::App app{"bench_tsm_flows: TSM flows per second against a grid of cards and the sekds server"};
  int cards = 1000;
  unsigned jobs = 4;
  std::string level = "cmac+cdec";
  app.add_option("--cards", cards, "cards in the grid")->check(CLI::Range(1, 100000));
  app.add_option("--jobs", jobs, "worker threads")->check(CLI::Range(1, 64));
  app.add_option("--level", level, "security level");
  CLI11_PARSE(app, argc, argv);
  service::ssl_init();
  service::configure_logging("warn", std::nullopt);  // no per-request lines from the in-process server

  ScratchDir dir("sekds-bench-tsm");
  SoftHsmToken token("bench-tsm-kek");
  const char* aes_master = "00112233445566778899AABBCCDDEEFF";
  write_private(dir / "issuer.hex", std::string(aes_master) + "\n");

  TtpSimulator ttp;
  TtpSimulator::Issuer issuer;
  issuer.scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  issuer.key_type = gp::KeyType::Aes128;
  issuer.master = gp::secure_from_hex(aes_master);
  ttp.set_issuer(std::move(issuer));
  const gp::SecureBytes kek = gp::random_secure(32);
  ttp.set_kek(1, kek);
  TtpServer server(ttp);

  std::cerr << "personalising " << cards << " cards...\n";
  const auto slots = personalise_cards(dir / "grid.db", cards, "03", "70", "kdf3", dir / "issuer.hex", server.endpoint());
  GridChild grid(dir / "grid.db");

  hsm::HsmConfig hc;
  hc.module_path = SoftHsmToken::module_path();
  hc.token = token.label();
  hc.pin = hsm::PinSource::parse(token.user_pin_source());
  auto hsm = std::make_unique<hsm::Hsm>(std::move(hc));
  hsm::KekStore keks(*hsm);
  tsm::KekRegistry registry = tsm::KekRegistry::load(dir / "kek-state.json");
  const auto files = write_kek_sheets(dir.path(), 1, kek);
  tsm::import_kek(*hsm, registry, 1, std::vector<std::filesystem::path>(files.begin(), files.end()));

  tsm::TtpSettings settings;
  tsm::TtpEndpoint ep;
  ep.url_prefix = "https://localhost:" + std::to_string(server.port()) + "/";
  ep.certificate = pki().crt("tsm1");
  ep.private_key = pki().key("tsm1");
  ep.ca = pki().crt("ca");
  settings.endpoints.push_back(ep);
  std::vector<tsm::OwnKeySet> own_sets(1);
  own_sets[0].scp = gp::Scp::Scp03;
  own_sets[0].kvn = 0x40;
  own_sets[0].scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  own_sets[0].key_type = gp::KeyType::Aes128;
  own_sets[0].master = gp::secure_from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
  tsm::LocalKeySource own(std::move(own_sets));
  const tsm::Script script = tsm::Script::parse("get-status\nstore-data 0102030405060708\n", "/", "bench");

  const tsm::CardSpec range = tsm::CardSpec::parse("grid:127.0.0.1:" + std::to_string(grid.port()) + "/" +
                                                   std::to_string(slots.front()) + "-" + std::to_string(slots.back()));
  nlohmann::ordered_json out;
  out["bench"] = "tsm_flows";
  out["cards"] = cards;
  out["jobs"] = jobs;
  out["level"] = level;
  nlohmann::ordered_json goals;
  double discover_rate = 0;
  for (tsm::FlowGoal g : {tsm::FlowGoal::Discover, tsm::FlowGoal::Keys, tsm::FlowGoal::Open, tsm::FlowGoal::Rotate,
                          tsm::FlowGoal::Run}) {
    tsm::FlowOptions o;
    o.goal = g;
    o.level = tsm::parse_level(level);
    o.keys = g == tsm::FlowGoal::Keys ? tsm::KeyChoice::Ttp : tsm::KeyChoice::Auto;
    o.script = &script;
    std::cerr << "goal " << tsm::flow_goal_name(g) << "...\n";
    const tsm::BatchResult b = tsm::run_batch(
        range, jobs, [&]() -> std::unique_ptr<tsm::KeySource> { return std::make_unique<tsm::TtpKeySource>(settings, keks, registry); },
        &own, o);
    if (b.failed) {
      std::cerr << "FAILED: " << tsm::batch_json(b).dump() << '\n';
      return 1;
    }
    const double rate = b.flows_per_second();
    if (g == tsm::FlowGoal::Discover) discover_rate = rate;
    nlohmann::ordered_json j = tsm::batch_json(b);
    j.erase("failures");
    j["ratio_to_discover"] = discover_rate > 0 ? rate / discover_rate : 0.0;
    goals[tsm::flow_goal_name(g) == std::string("info") ? "discover" : tsm::flow_goal_name(g)] = j;
  }
  out["goals"] = goals;
  std::cout << out.dump(2) << '\n';
  return 0;
}
