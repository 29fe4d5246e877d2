// Personalisation: cards as an issuer would make them for sekds. Each card gets a unique IC
// serial number (CPLC), a KDD built from CPLC fields (IC fabricator, IC type, IC serial
// number, IC batch identifier: so VISA2, which reads KDD bytes 0-1 and 4-7, and EMV CPS,
// which reads bytes 4-9, both see the unique serial), a CIN, the issuer's IIN, the TTP URL,
// and one key set whose keys are gp::diversify(master, KDD).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "card/card_state.h"
#include "card/card_store.h"
#include "gp/diversification.h"

namespace sekds::card {

struct PersonalisationProfile {
  Bytes iin;                              // 1..127 bytes
  std::uint8_t kvn = 0x01;                // 01..7F
  gp::Scp scp = gp::Scp::Scp03;
  std::optional<std::uint8_t> i;          // default: 55 for SCP02, 70 for SCP03
  gp::DiversificationMethod method = gp::DiversificationMethod::None;
  std::optional<gp::KeyType> key_type;    // default: DES2 for SCP02, AES of the master's length for SCP03
  std::string url;
  // Lowest session level for PUT KEY, LOAD, INSTALL, DELETE (CardIdentity::management_level).
  std::uint8_t management_level = gp::SecurityLevel::kCMac;
};

// The profile with its defaults filled in and every field checked against the master key
// (length fits method and key type, key type fits SCP, i supported, URL valid, management
// level one that SCP and i can open). Throws
// std::invalid_argument naming the field.
PersonalisationProfile resolve_profile(PersonalisationProfile profile, ByteView master);

// One card from a resolved profile. ic_serial: 4 bytes; batch: 2 bytes.
CardState make_card(const PersonalisationProfile& profile, ByteView master, ByteView ic_serial, ByteView batch);

// `count` new cards appended to `store` in one transaction, with IC serial numbers unique in
// the store. Returns them with their slots.
std::vector<CardState> personalise(CardStore& store, const PersonalisationProfile& profile, ByteView master,
                                   std::size_t count);

// The master key file: one line of hex (demo material). Throws std::invalid_argument naming
// the file but never echoing its content.
gp::SecureBytes read_master_key_file(const std::string& path);

}  // namespace sekds::card
