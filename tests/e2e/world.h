// The end-to-end world, made once per test process: the dev environment (deploy/dev-env.sh up
// on a free port in a scratch directory; its manifest.json), the TSMs' own SoftHSM tokens with
// their KEK 1 imported through `sekds-tsm kek import` from the ceremony's component sheets, a
// sekds-tsm configuration per TSM, and demo cards personalised from the demo key sets (every
// SCP / i the card supports) on a grid served by `sekds-card serve --grid`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support.h"
#include "support/softhsm_token.h"

namespace sekds::test {

// The manifest writes SCP as "02" / "03" (sekds-admin's JSON); numbers are accepted too.
int scp_of(const nlohmann::json& key_set);

struct DemoCards {
  nlohmann::json key_set;  // the manifest's entry
  std::string i;           // "15", "55", "00", "10", "70"
  std::vector<int> slots;
  std::string describe() const;
};

class World {
 public:
  static World& get();  // made on first use; throws (the test fails) when dev-env cannot come up
  ~World();

  const nlohmann::json& manifest() const { return manifest_; }
  const std::string& dir() const { return dir_.path(); }
  std::string config(const std::string& tsm) const { return dir_ / (tsm + ".toml"); }
  // sekds-tsm with $SEKDS_TSM_CONFIG set to that TSM's configuration.
  RunResult tsm(const std::string& who, std::vector<std::string> args) const;
  // sekds-admin against the dev environment's configuration.
  RunResult admin(std::vector<std::string> args) const;
  std::string card(int slot) const { return grid_->spec(slot); }
  std::vector<DemoCards>& cards() { return cards_; }
  const nlohmann::json& key_set(const std::string& key_type) const;  // by key type: DES2, AES128, AES256
  // A 9 KB load file made by `sekds-card make-loadfile`, and a script using it.
  const std::string& script() const { return script_; }
  // A fresh card of `key_type`'s key set (SCP03 i=70 or SCP02 i=55) in the grid.
  int spare_card(const std::string& key_type);
  std::string grid_db() const { return dir_ / "grid.db"; }

 private:
  World();
  void up();
  void setup_tsm(const std::string& tsm, const std::string& token);
  ScratchDir dir_{"sekds-e2e"};
  SoftHsmToken tokens_{"tsm1-kek"};
  nlohmann::json manifest_;
  bool up_ = false;
  std::unique_ptr<GridChild> grid_;
  std::vector<DemoCards> cards_;
  std::map<std::string, std::vector<int>> spares_;
  std::string script_;
};

}  // namespace sekds::test
