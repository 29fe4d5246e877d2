// Where a card's static keys come from (GlobalPlatformPro's CardKeysProvider idea): the TTP
// named by the card (ttp_key_source.h) or the TSM's own key set (local_key_source.h). Either
// way the caller gets plaintext keys in SecureBytes, their KCVs, and where they came from.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "gp/scp_common.h"
#include "tsm/card_info.h"

namespace sekds::tsm {

struct CardKeys {
  std::string source;  // "ttp", "own"
  std::uint8_t kvn = 0;
  gp::KeyType key_type = gp::KeyType::Aes128;
  gp::Scp scp = gp::Scp::Scp03;
  gp::StaticKeys keys;             // ENC, MAC, DEK (plaintext: never print without --reveal)
  gp::KcvAlg kcv_alg = gp::KcvAlg::AesGp;
  std::array<gp::Bytes, 3> kcv;    // ENC, MAC, DEK, verified
  // From the TTP only.
  std::string endpoint;
  std::string audit_id;
  std::string request_id;
  std::optional<std::uint32_t> kek_index;
  gp::Bytes kek_kcv;
  unsigned attempts = 0;  // SOAP calls made (1 unless a transport error was retried)

  const gp::Bytes& kcv_of(gp::KeyRole r) const { return kcv[static_cast<std::size_t>(r) - 1]; }
};

class KeySource {
 public:
  virtual ~KeySource() = default;
  // The keys of `card` for key set `kvn` (nullopt: the source decides from the card's 'E0').
  // Throws TsmError (TtpFault, TtpTransport, Verification, Config, Usage, Hsm).
  virtual CardKeys card_keys(const CardInfo& card, std::optional<std::uint8_t> kvn) = 0;
  virtual std::string describe() const = 0;
};

// The one usable key set of the card other than `exclude` when `kvn` is not given; throws
// TsmError(Usage) when there is none or several ("use --kvn").
std::uint8_t choose_kvn(const CardInfo& card, std::optional<std::uint8_t> kvn, std::optional<std::uint8_t> exclude);

// "KVN 30" style text for messages.
std::string kvn_text(std::uint8_t kvn);

}  // namespace sekds::tsm
