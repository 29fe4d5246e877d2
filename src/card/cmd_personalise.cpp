// sekds-card personalise: N new cards appended to a grid database.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "card/commands.h"
#include "card/personalise.h"
#include "card/sqlite_card_store.h"
#include "gp/error.h"

namespace sekds::card {

namespace {

struct PersonaliseArgs {
  std::string db, issuer, kvn, scp, i, method, master_key_file, url, key_type, management_level = "01";
  std::size_t count = 0;
  bool json = false;
};

std::uint8_t parse_byte(const std::string& s, const char* what, bool hex_default) {
  try {
    std::size_t used = 0;
    const bool hex = hex_default || s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0;
    const unsigned long v = std::stoul(s, &used, hex ? 16 : 10);
    if (used != s.size() || v > 0xFF) throw std::invalid_argument(s);
    return static_cast<std::uint8_t>(v);
  } catch (const std::exception&) {
    throw std::invalid_argument(std::string(what) + ": '" + s + "' is not a byte value");
  }
}

gp::Scp parse_scp(const std::string& s) {
  if (s == "02" || s == "2" || s == "SCP02" || s == "scp02") return gp::Scp::Scp02;
  if (s == "03" || s == "3" || s == "SCP03" || s == "scp03") return gp::Scp::Scp03;
  throw std::invalid_argument("--scp: must be 02 or 03, got '" + s + "'");
}

void run(const PersonaliseArgs& a) {
  PersonalisationProfile p;
  try {
    p.iin = gp::from_hex(a.issuer, "--issuer");
  } catch (const gp::GpError& e) {
    throw std::invalid_argument(std::string(e.what()) + " (the IIN is given in hex)");
  }
  p.kvn = parse_byte(a.kvn, "--kvn", false);
  p.scp = parse_scp(a.scp);
  if (!a.i.empty()) p.i = parse_byte(a.i, "--i", true);
  const auto method = gp::parse_method(a.method);
  if (!method) throw std::invalid_argument("--method: must be none, emv, visa2 or kdf3, got '" + a.method + "'");
  p.method = *method;
  if (!a.key_type.empty()) {
    p.key_type = gp::parse_key_type(a.key_type);
    if (!p.key_type) throw std::invalid_argument("--key-type: must be DES2, DES3, AES128, AES192 or AES256");
  }
  p.url = a.url;
  p.management_level = parse_byte(a.management_level, "--management-level", true);
  const gp::SecureBytes master = read_master_key_file(a.master_key_file);
  resolve_profile(p, master);  // every argument checked before the database is touched
  SqliteCardStore store(a.db);
  const auto cards = personalise(store, p, master, a.count);
  if (a.json) {
    nlohmann::json out = {{"db", a.db}, {"cards", nlohmann::json::array()}};
    for (const auto& c : cards)
      out["cards"].push_back({{"slot", c.slot},
                              {"kdd", gp::to_hex(c.identity.kdd)},
                              {"cin", gp::to_hex(c.identity.cin)},
                              {"scp", gp::scp_name(c.identity.scp)},
                              {"i", gp::to_hex(Bytes{c.identity.i})},
                              {"kvn", c.default_kvn},
                              {"management_level", gp::to_hex(Bytes{c.identity.management_level.byte()})}});
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << "personalised " << cards.size() << " card(s) in " << a.db << "; slots:";
  for (const auto& c : cards) std::cout << ' ' << c.slot;
  std::cout << '\n';
}

}  // namespace

void register_personalise(CLI::App& app) {
  auto args = std::make_shared<PersonaliseArgs>();
  auto* cmd = app.add_subcommand("personalise", "create N cards (unique KDD, CPLC, CIN) with diversified keys in a grid database");
  cmd->add_option("--db", args->db, "grid database (SQLite; created if missing, appended to otherwise)")->required();
  cmd->add_option("--count", args->count, "number of cards")->required()->check(CLI::Range(1, 100000));
  cmd->add_option("--issuer", args->issuer, "IIN, GET DATA '42' (hex)")->required();
  cmd->add_option("--kvn", args->kvn, "key version number of the key set, 1..127 (decimal, or hex with 0x)")->required();
  cmd->add_option("--scp", args->scp, "secure channel protocol: 02 or 03")->required();
  cmd->add_option("--i", args->i, "SCP i parameter in hex (default 55 for SCP02, 70 for SCP03)");
  cmd->add_option("--method", args->method, "diversification: none, emv, visa2 or kdf3")->required();
  cmd->add_option("--master-key-file", args->master_key_file, "file with the master key as one line of hex (never echoed)")
      ->required();
  cmd->add_option("--url", args->url, "TTP URL, GET DATA '5F50'")->required();
  cmd->add_option("--key-type", args->key_type, "DES2, DES3, AES128, AES192 or AES256 (default: from method and master)");
  cmd->add_option("--management-level", args->management_level,
                  "lowest security level (hex) of a session that may PUT KEY, LOAD, INSTALL or DELETE: 01 (C-MAC, "
                  "the default), 03, 11, 13, 33; 00 lets an unMACed session change keys and content")
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([args] { run(*args); });
}

}  // namespace sekds::card
