#include "tsm/kek_token.h"

#include "hsm/error.h"
#include "hsm/hsm.h"
#include "tsm/error.h"

namespace sekds::tsm {

std::unique_ptr<hsm::Hsm> open_kek_token(const TsmConfig& config) {
  if (!config.kek_token) throw TsmError(TsmErrc::Config, config.source.string() + ": no [kek_token] section");
  const KekTokenConfig& k = *config.kek_token;
  hsm::HsmConfig hc;
  hc.module_path = k.module;
  hc.token = k.token;
  hc.role = hsm::LoginRole::User;
  try {
    hc.pin = hsm::PinSource::parse(k.pin);
    return std::make_unique<hsm::Hsm>(std::move(hc), hsm::ConnectMode::Now);
  } catch (const hsm::HsmError& e) {
    throw TsmError(TsmErrc::Hsm, "KEK token '" + k.token + "': " + e.what(), e.name());
  }
}

}  // namespace sekds::tsm
