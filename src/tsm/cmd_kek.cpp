#include "tsm/cmd_kek.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "hsm/hsm.h"
#include "hsm/session.h"
#include "tsm/config.h"
#include "tsm/error.h"
#include "tsm/kek_import.h"
#include "tsm/kek_token.h"

namespace sekds::tsm {

void register_kek(CLI::App& app) {
  CLI::App* kek = app.add_subcommand("kek", "The TSM's key-exchange keys (KEKs), kept in its own PKCS#11 token.");
  kek->require_subcommand(1);

  struct ImportOpts {
    std::string config;
    std::uint32_t index = 0;
    std::vector<std::string> components;
    bool json = false;
  };
  auto io = std::make_shared<ImportOpts>();
  CLI::App* imp = kek->add_subcommand(
      "import",
      "Import a KEK from its custodians' component files (sekds-admin kek generate): each component's KCV and the combined "
      "KCV are checked, then the KEK is stored in the token (unwrap only, never extractable) and its KCV recorded. Nothing "
      "is stored on any mismatch.");
  imp->add_option("--config", io->config, "configuration file (TOML); default $SEKDS_TSM_CONFIG");
  imp->add_option("--index", io->index, "the KEK index (as the TTP numbers it)")->required();
  imp->add_option("--component", io->components, "a custodian's component file (2 or 3 of them)")->required();
  imp->add_flag("--json", io->json, "JSON output");
  imp->callback([io] {
    const TsmConfig cfg = require_config(io->config);
    if (!cfg.kek_token) throw TsmError(TsmErrc::Config, cfg.source.string() + ": no [kek_token] section");
    std::vector<std::filesystem::path> files(io->components.begin(), io->components.end());
    if (files.size() < 2 || files.size() > 3)
      throw TsmError(TsmErrc::Usage, "kek import needs 2 or 3 --component files (dual control), got " + std::to_string(files.size()));
    KekRegistry reg = KekRegistry::load(cfg.kek_token->state_file);
    auto hsm = open_kek_token(cfg);
    const KekImportResult r = import_kek(*hsm, reg, io->index, files);
    if (io->json) {
      nlohmann::ordered_json j;
      j["index"] = r.record.index;
      j["label"] = r.record.label;
      j["algorithm"] = r.record.algorithm;
      j["kcv"] = gp::to_hex(r.record.kcv);
      j["tsm"] = r.record.tsm;
      j["kcv_convention"] = r.kcv_convention;
      nlohmann::ordered_json c = nlohmann::ordered_json::array();
      for (const auto& k : r.component_kcvs) c.push_back(gp::to_hex(k));
      j["component_kcvs"] = c;
      j["state_file"] = reg.file().string();
      std::cout << j.dump() << '\n';
    } else {
      for (std::size_t i = 0; i < r.component_kcvs.size(); ++i)
        std::cout << "component " << (i + 1) << " KCV   " << gp::to_hex(r.component_kcvs[i]) << " (" << r.kcv_convention
                  << ", matches its sheet)\n";
      std::cout << "combined KCV      matches the sheets\n";
      std::cout << "KEK " << r.record.index << " imported  " << r.record.algorithm << ", KCV " << gp::to_hex(r.record.kcv)
                << " (AES-ECB of 16 x 01), token label " << r.record.label << ", TSM " << r.record.tsm << '\n';
      std::cout << "recorded in       " << reg.file().string() << '\n';
    }
  });

  struct ListOpts {
    std::string config;
    bool json = false;
    bool check = false;
  };
  auto lo = std::make_shared<ListOpts>();
  CLI::App* list = kek->add_subcommand("list", "List the KEKs imported (index, algorithm, KCV, token label).");
  list->add_option("--config", lo->config, "configuration file (TOML); default $SEKDS_TSM_CONFIG");
  list->add_flag("--json", lo->json, "JSON output");
  list->add_flag("--check", lo->check, "also log in to the token and check that every recorded KEK is there (exit 7 if not)");
  list->callback([lo] {
    const TsmConfig cfg = require_config(lo->config);
    if (!cfg.kek_token) throw TsmError(TsmErrc::Config, cfg.source.string() + ": no [kek_token] section");
    const KekRegistry reg = KekRegistry::load(cfg.kek_token->state_file);
    std::map<std::uint32_t, bool> present;
    if (lo->check) {
      auto hsm = open_kek_token(cfg);
      for (const auto& r : reg.records())
        present[r.index] = translate_errors("kek list --check", [&] {
          return hsm->with_session("find KEK", [&](hsm::Session& s) { return hsm->label_exists(s, r.label); });
        });
    }
    std::vector<std::uint32_t> missing;
    for (const auto& [index, here] : present)
      if (!here) missing.push_back(index);
    auto fail_if_missing = [&] {
      if (missing.empty()) return;
      std::string which;
      for (auto m : missing) which += (which.empty() ? "" : ", ") + std::to_string(m);
      throw TsmError(TsmErrc::Hsm, "KEK " + which + " recorded in " + reg.file().string() + " but not in token '" +
                                       cfg.kek_token->token + "'",
                     "KekMissing");
    };
    if (lo->json) {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& r : reg.records()) {
        nlohmann::ordered_json k{{"index", r.index}, {"algorithm", r.algorithm}, {"kcv", gp::to_hex(r.kcv)},
                                 {"label", r.label}, {"tsm", r.tsm}, {"imported_at", r.imported_at},
                                 {"active", r.index == cfg.ttp.kek_index}};
        if (lo->check) k["in_token"] = present[r.index];
        a.push_back(k);
      }
      std::cout << nlohmann::ordered_json{{"keks", a}}.dump() << '\n';
      fail_if_missing();
      return;
    }
    if (reg.records().empty()) std::cout << "no KEK imported (" << reg.file().string() << ")\n";
    for (const auto& r : reg.records())
      std::cout << "KEK " << r.index << "  " << r.algorithm << "  KCV " << gp::to_hex(r.kcv) << "  " << r.label << "  TSM "
                << r.tsm << "  imported " << r.imported_at << (r.index == cfg.ttp.kek_index ? "  (in use: kek_index)" : "")
                << (lo->check ? (present[r.index] ? "  in token" : "  MISSING FROM THE TOKEN") : "") << '\n';
    fail_if_missing();
  });
}

}  // namespace sekds::tsm
