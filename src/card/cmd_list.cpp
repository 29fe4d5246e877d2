// sekds-card list: the cards of a grid database, without their keys.
#include <CLI/CLI.hpp>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "card/commands.h"
#include "card/sqlite_card_store.h"

namespace sekds::card {

namespace {

struct ListArgs {
  std::string db;
  bool json = false;
};

std::string kvn_list(const CardState& c) {
  std::ostringstream s;
  for (const auto& [kvn, ks] : c.key_sets) {
    if (s.tellp() > 0) s << ',';
    s << "0x" << gp::to_hex(Bytes{kvn}) << '(' << gp::key_type_name(ks.type) << ')';
  }
  return s.str();
}

void run(const ListArgs& a) {
  SqliteCardStore store(a.db);
  const auto cards = store.load_all();
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& c : cards) {
      nlohmann::json kvns = nlohmann::json::array();
      for (const auto& [kvn, ks] : c.key_sets)
        kvns.push_back({{"kvn", kvn}, {"key_type", gp::key_type_name(ks.type)}, {"counter", ks.counter}});
      const KeySet* d = c.default_key_set();
      out.push_back({{"slot", c.slot},
                     {"kdd", gp::to_hex(c.identity.kdd)},
                     {"scp", gp::scp_name(c.identity.scp)},
                     {"i", gp::to_hex(Bytes{c.identity.i})},
                     {"default_kvn", c.default_kvn},
                     {"counter", d ? d->counter : 0},
                     {"key_sets", kvns},
                     {"management_level", gp::to_hex(Bytes{c.identity.management_level.byte()})},
                     {"url", c.identity.url},
                     {"load_files", c.registry.load_files.size()},
                     {"applications", c.registry.applications.size()}});
    }
    std::cout << out.dump(2) << '\n';
    return;
  }
  std::cout << std::left << std::setw(6) << "slot" << std::setw(22) << "KDD" << std::setw(10) << "SCP/i" << std::setw(16)
            << "KVNs" << std::setw(9) << "counter" << std::setw(6) << "mgmt" << "URL\n";
  for (const auto& c : cards) {
    const KeySet* d = c.default_key_set();
    std::cout << std::left << std::setw(6) << c.slot << std::setw(22) << gp::to_hex(c.identity.kdd) << std::setw(10)
              << (std::string(c.identity.scp == gp::Scp::Scp02 ? "02" : "03") + "/" + gp::to_hex(Bytes{c.identity.i}))
              << std::setw(16) << kvn_list(c) << std::setw(9) << (d ? d->counter : 0) << std::setw(6)
              << gp::to_hex(Bytes{c.identity.management_level.byte()}) << c.identity.url << '\n';
  }
}

}  // namespace

void register_list(CLI::App& app) {
  auto args = std::make_shared<ListArgs>();
  auto* cmd = app.add_subcommand("list", "list the cards of a grid database (slot, KDD, SCP/i, KVNs, counter, management level, URL; no keys)");
  cmd->add_option("--db", args->db, "grid database")->required()->check(CLI::ExistingFile);
  cmd->add_flag("--json", args->json, "JSON output");
  cmd->callback([args] { run(*args); });
}

}  // namespace sekds::card
