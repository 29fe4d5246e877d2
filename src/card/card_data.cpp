#include "card/card_data.h"

namespace sekds::card {

gp::KeyInformation key_information(const CardState& s) {
  gp::KeyInformation info;
  for (const auto& [kvn, ks] : s.key_sets) {
    const std::uint8_t type = gp::is_aes(ks.type) ? gp::kKeyTypeAes : gp::kKeyTypeDes;
    const auto len = static_cast<std::uint16_t>(gp::key_length(ks.type));
    for (std::uint8_t id = 1; id <= 3; ++id) {
      gp::KeyInformationData d;
      d.key_id = id;
      d.kvn = kvn;
      d.components.push_back({type, len});
      info.keys.push_back(std::move(d));
    }
  }
  return info;
}

gp::CardRecognitionData card_recognition_data(const CardIdentity& id) {
  gp::CardRecognitionData c;
  c.gp_version = {0x02, 0x03, 0x01};  // GlobalPlatform Card Specification 2.3.1
  c.card_identification_scheme = gp::from_hex("2A864886FC6B03");  // {globalPlatform 3}
  c.scps.push_back({static_cast<std::uint8_t>(id.scp), id.i});
  return c;
}

}  // namespace sekds::card
