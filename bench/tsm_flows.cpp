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
// --goals picks and orders them (default discover,keys,open,rotate,run). `run` on cards not yet
// rotated (e.g. --goals discover,run) is the whole flow, steps 1-8 with the TTP's keys: fetch,
// open, rotate, script; "ttp_keys" in its result counts the cards opened with the TTP's keys.
//
// --manifest var/dev/manifest.json runs the same against the dev environment's real
// sekds-server (deploy/dev-env.sh up): its endpoint and CA, tsm1's certificate and KEK 1
// (imported from the ceremony's component sheets), cards personalised from the demo key set
// of --key-type. Then `keys` includes the server's HSM derivation, wrap and audit.
#include <CLI/CLI.hpp>
#include <fstream>
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
  std::string manifest_path, key_type = "AES128";
  app.add_option("--manifest", manifest_path, "the dev environment's manifest.json: use its real sekds-server");
  app.add_option("--key-type", key_type, "with --manifest: the demo key set (DES2, AES128, AES256)");
  std::vector<std::string> goal_names{"discover", "keys", "open", "rotate", "run"};
  app.add_option("--goals", goal_names, "goals in order (discover keys open rotate run)")
      ->delimiter(',')
      ->check(CLI::IsMember({"discover", "keys", "open", "rotate", "run"}));
  CLI11_PARSE(app, argc, argv);
  std::vector<tsm::FlowGoal> goal_list;
  for (const auto& g : goal_names)
    goal_list.push_back(g == "discover" ? tsm::FlowGoal::Discover
                        : g == "keys"   ? tsm::FlowGoal::Keys
                        : g == "open"   ? tsm::FlowGoal::Open
                        : g == "rotate" ? tsm::FlowGoal::Rotate
                                        : tsm::FlowGoal::Run);
  service::ssl_init();
  service::configure_logging("warn", std::nullopt);  // no per-request lines from the in-process server

  ScratchDir dir("sekds-bench-tsm");
  SoftHsmToken token("bench-tsm-kek");
  const char* aes_master = "00112233445566778899AABBCCDDEEFF";
  write_private(dir / "issuer.hex", std::string(aes_master) + "\n");

  // The TTP: a software one behind the real transport in this process, or the dev server.
  TtpSimulator ttp;
  std::unique_ptr<TtpServer> server;
  nlohmann::json manifest;
  std::string endpoint, client_cert, client_key, ca;
  std::vector<std::string> kek_files;
  std::string scp = "03", i = "70", method = "kdf3", kvn = "1", iin = "42018C";
  if (manifest_path.empty()) {
    TtpSimulator::Issuer issuer;
    issuer.scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
    issuer.key_type = gp::KeyType::Aes128;
    issuer.master = gp::secure_from_hex(aes_master);
    ttp.set_issuer(std::move(issuer));
    const gp::SecureBytes kek = gp::random_secure(32);
    ttp.set_kek(1, kek);
    server = std::make_unique<TtpServer>(ttp);
    endpoint = server->endpoint();
    client_cert = pki().crt("tsm1");
    client_key = pki().key("tsm1");
    ca = pki().crt("ca");
    for (const auto& f : write_kek_sheets(dir.path(), 1, kek)) kek_files.push_back(f);
  } else {
    std::ifstream in(manifest_path);
    if (!in) {
      std::cerr << manifest_path << ": cannot read (deploy/dev-env.sh up writes it)\n";
      return 2;
    }
    manifest = nlohmann::json::parse(in);
    endpoint = manifest.at("endpoint");
    ca = manifest.at("ca_cert");
    for (const auto& t : manifest.at("tsms"))
      if (t.at("name") == "tsm1") {
        client_cert = t.at("cert");
        client_key = t.at("key");
        for (const auto& f : t.at("keks").at(0).at("component_files")) kek_files.push_back(f);
      }
    bool found = false;
    for (const auto& k : manifest.at("key_sets"))
      if (k.at("key_type") == key_type) {
        write_private(dir / "issuer.hex", k.at("master_key_hex").get<std::string>() + "\n");
        scp = k.at("scp").is_string() ? k.at("scp").get<std::string>() : "0" + std::to_string(k.at("scp").get<int>());
        i = scp == "02" ? "55" : "70";
        method = k.at("method");
        kvn = std::to_string(k.at("kvn").get<int>());
        iin = k.at("iin");
        found = true;
      }
    if (!found || client_cert.empty()) {
      std::cerr << "the manifest has no " << key_type << " key set or no tsm1\n";
      return 2;
    }
  }

  std::cerr << "personalising " << cards << " cards...\n";
  const auto slots = personalise_cards(dir / "grid.db", cards, scp, i, method, dir / "issuer.hex", endpoint, kvn, iin);
  GridChild grid(dir / "grid.db");

  hsm::HsmConfig hc;
  hc.module_path = SoftHsmToken::module_path();
  hc.token = token.label();
  hc.pin = hsm::PinSource::parse(token.user_pin_source());
  auto hsm = std::make_unique<hsm::Hsm>(std::move(hc));
  hsm::KekStore keks(*hsm);
  tsm::KekRegistry registry = tsm::KekRegistry::load(dir / "kek-state.json");
  tsm::import_kek(*hsm, registry, 1, std::vector<std::filesystem::path>(kek_files.begin(), kek_files.end()));

  tsm::TtpSettings settings;
  tsm::TtpEndpoint ep;
  ep.url_prefix = endpoint.substr(0, endpoint.find('/', 8) + 1);
  ep.certificate = client_cert;
  ep.private_key = client_key;
  ep.ca = ca;
  settings.endpoints.push_back(ep);
  std::vector<tsm::OwnKeySet> own_sets(2);
  own_sets[0].scp = gp::Scp::Scp03;
  own_sets[0].kvn = 0x40;
  own_sets[0].scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  own_sets[0].key_type = gp::KeyType::Aes128;
  own_sets[0].master = gp::secure_from_hex("F0E1D2C3B4A5968778695A4B3C2D1E0F");
  own_sets[1].scp = gp::Scp::Scp02;
  own_sets[1].kvn = 0x40;
  own_sets[1].scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Emv);
  own_sets[1].key_type = gp::KeyType::Des2;
  own_sets[1].master = gp::secure_from_hex("0F1E2D3C4B5A69788796A5B4C3D2E1F0");
  tsm::LocalKeySource own(std::move(own_sets));
  const tsm::Script script = tsm::Script::parse("get-status\nstore-data 0102030405060708\n", "/", "bench");

  const tsm::CardSpec range = tsm::CardSpec::parse("grid:127.0.0.1:" + std::to_string(grid.port()) + "/" +
                                                   std::to_string(slots.front()) + "-" + std::to_string(slots.back()));
  nlohmann::ordered_json out;
  out["bench"] = "tsm_flows";
  out["cards"] = cards;
  out["jobs"] = jobs;
  out["level"] = level;
  out["ttp"] = manifest_path.empty() ? "software TTP behind the sekds transport (in process)" : endpoint;
  if (!manifest_path.empty()) out["key_type"] = key_type;
  nlohmann::ordered_json goals;
  double discover_rate = 0;
  for (tsm::FlowGoal g : goal_list) {
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
    long ttp_keys = 0;  // cards whose "keys" step fetched from the TTP (not the TSM's own set)
    for (const auto& r : b.results)
      for (const auto& st : r.steps)
        if (st.step == "keys" && st.detail.rfind("TTP ", 0) == 0) ++ttp_keys;
    j["ttp_keys"] = ttp_keys;
    j["ratio_to_discover"] = discover_rate > 0 ? rate / discover_rate : 0.0;
    goals[tsm::flow_goal_name(g) == std::string("info") ? "discover" : tsm::flow_goal_name(g)] = j;
  }
  out["goals"] = goals;
  std::cout << out.dump(2) << '\n';
  return 0;
}
