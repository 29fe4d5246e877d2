// The TSM's own key set(s): a master key (hex in a file), a diversification method and a key
// type, diversified per card with the card's KDD. Used for cards already rotated to the TSM's
// KVN, and as the new keys of a rotation (PUT KEY). One entry per protocol, since SCP02 cards
// take DES keys and SCP03 cards AES keys.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tsm/key_source.h"

namespace sekds::tsm {

struct OwnKeySet {
  std::optional<gp::Scp> scp;  // the protocol this key set is for (nullopt: any that fits the key type)
  std::uint8_t kvn = 0x40;
  gp::DiversificationScheme scheme;
  gp::KeyType key_type = gp::KeyType::Aes128;
  gp::SecureBytes master;
  std::string master_file;  // for messages

  // Checks KVN (01..7F), the master's length against method and key type, and that the
  // protocol takes this key type. Throws TsmError(Config) naming `where`.
  void check(const std::string& where) const;
};

// Reads one line of hex (spaces and ':' between byte pairs allowed) from a file that group and
// others cannot read; throws TsmError(Config) naming the file, never repeating its content.
gp::SecureBytes read_key_file(const std::filesystem::path& file);

class LocalKeySource final : public KeySource {
 public:
  // `name` is CardKeys::source of the keys it gives ("own"; tests use other names for an
  // issuer's key set held locally).
  explicit LocalKeySource(std::vector<OwnKeySet> sets, std::string name = "own");
  // The set for this card (matching SCP and key type); throws TsmError(Config) if none.
  const OwnKeySet& set_for(const CardInfo& card) const;
  // Preference: a set the card already holds (its KVN and key type), then a set of the key type
  // the card has now (a rotation must not weaken the card's keys), then any set of the protocol.
  const OwnKeySet* find_for(const CardInfo& card) const;
  const OwnKeySet* find_for(gp::Scp scp) const noexcept;
  // Diversifies with the card's KDD; `kvn`, when given, must be the set's KVN.
  CardKeys card_keys(const CardInfo& card, std::optional<std::uint8_t> kvn) override;
  std::string describe() const override { return name_; }
  const std::vector<OwnKeySet>& sets() const noexcept { return sets_; }

 private:
  std::vector<OwnKeySet> sets_;
  std::string name_;
};

}  // namespace sekds::tsm
