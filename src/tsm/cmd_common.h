// What the flow subcommands share: the options every one takes, and the run-time pieces made
// from the configuration once per process (the KEK token login, the KEK records, the own key
// sets), from which each worker gets its own TTP key source.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tsm/config.h"
#include "tsm/kek_registry.h"
#include "tsm/local_key_source.h"

namespace CLI {
class App;
}
namespace sekds::hsm {
class Hsm;
class KekStore;
}

namespace sekds::tsm {

struct CommonOptions {
  std::string config;  // --config (else $SEKDS_TSM_CONFIG)
  std::string card;    // --card
  bool json = false;
};

// Adds --config / --card / --json to a subcommand.
void add_common_options(CLI::App& sub, CommonOptions& o, bool need_config);

class Runtime {
 public:
  // need_ttp: open the KEK token and read the KEK records; need_own: read the own key sets.
  Runtime(const std::string& config_path, bool need_ttp, bool need_own);
  ~Runtime();
  const TsmConfig& config() const noexcept { return config_; }
  // A new TTP key source (one per worker thread); nullptr when the TTP was not asked for.
  std::unique_ptr<KeySource> make_ttp() const;
  LocalKeySource* own() noexcept { return own_ ? &*own_ : nullptr; }

 private:
  TsmConfig config_;
  std::unique_ptr<hsm::Hsm> hsm_;
  std::unique_ptr<hsm::KekStore> keks_;
  std::optional<KekRegistry> registry_;
  std::optional<LocalKeySource> own_;
};

// "--kvn": decimal or 0x-prefixed hex, 1..127. Throws TsmError(Usage).
std::uint8_t parse_kvn(const std::string& s);

}  // namespace sekds::tsm
