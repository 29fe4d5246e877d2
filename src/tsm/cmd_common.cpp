#include "tsm/cmd_common.h"

#include <CLI/CLI.hpp>

#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "tsm/error.h"
#include "tsm/kek_import.h"
#include "tsm/kek_token.h"
#include "tsm/ttp_key_source.h"

namespace sekds::tsm {

void add_common_options(CLI::App& sub, CommonOptions& o, bool need_config) {
  if (need_config)
    sub.add_option("--config", o.config, "configuration file (TOML); default $SEKDS_TSM_CONFIG");
  sub.add_option("--card", o.card,
                 "the card: pcsc:READER | grid:HOST:PORT/SLOT | grid:HOST:PORT/FIRST-LAST (many cards, with --jobs)")
      ->required();
  sub.add_flag("--json", o.json, "one JSON object on stdout instead of the human report");
}

Runtime::Runtime(const std::string& config_path, bool need_ttp, bool need_own) {
  config_ = require_config(config_path);
  if (need_ttp) {
    if (config_.ttp.endpoints.empty())
      throw TsmError(TsmErrc::Config, config_.source.string() + ": no [[ttp]] entry: the TSM cannot call a TTP");
    if (!config_.kek_token) throw TsmError(TsmErrc::Config, config_.source.string() + ": no [kek_token] section");
    check_ttp_files(config_);
    registry_ = KekRegistry::load(config_.kek_token->state_file);
    hsm_ = open_kek_token(config_);
    keks_ = std::make_unique<hsm::KekStore>(*hsm_);
  }
  if (need_own && !config_.own_keys.empty()) own_.emplace(make_local_key_source(config_));
}

Runtime::~Runtime() = default;

std::unique_ptr<KeySource> Runtime::make_ttp() const {
  if (!keks_) return nullptr;
  return std::make_unique<TtpKeySource>(config_.ttp, *keks_, *registry_);
}

std::uint8_t parse_kvn(const std::string& s) {
  try {
    std::size_t used = 0;
    const unsigned long v = std::stoul(s, &used, 0);
    if (used == s.size() && v >= 1 && v <= 127) return static_cast<std::uint8_t>(v);
  } catch (const std::exception&) {
  }
  throw TsmError(TsmErrc::Usage, "--kvn: '" + s + "' is not a key version number 1..127 (decimal, or hex as 0x30)");
}

}  // namespace sekds::tsm
