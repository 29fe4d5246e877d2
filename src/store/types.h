// The entities of the store (DESIGN §5): issuers, key sets, TSMs, entitlements, KEKs,
// per-card sequence counters. Plain values; the Store interface reads and writes them.
//
// Conventions: hex fields are uppercase without separators (gp::to_hex); KCVs are
// bytes in the API and hex in the database; names of enums are the text stored in SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gp/bytes.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "store/time.h"

namespace sekds::store {

// Who performs an admin action; the store audits every change with it.
struct AuditContext {
  std::string actor;                      // operator name (or "system")
  std::optional<std::string> request_id;  // correlates with a CLI run or ticket
};

struct IssuerSpec {
  std::string name;  // unique, 1..64 printable characters
  std::string iin;   // the GP '42' value as hex (any case); stored uppercase, unique
};

struct Issuer {
  std::int64_t id = 0;
  std::string name;
  std::string iin;  // uppercase hex
  Timestamp created;
};

enum class KeySetState { Active, Disabled };
const char* key_set_state_name(KeySetState s) noexcept;  // "active", "disabled"
std::optional<KeySetState> parse_key_set_state(std::string_view s) noexcept;

// HSM object labels of the master keys per role; all three equal when one master is shared.
struct HsmLabels {
  std::string enc, mac, dek;
  bool shared() const { return enc == mac && mac == dek; }
};

// Check value of each master key, all in one convention (kcv_alg).
struct MasterKcvs {
  gp::Bytes enc, mac, dek;
};

struct KeySetSpec {
  std::string issuer;  // issuer name
  std::uint8_t kvn = 0;    // key set version 1..127
  std::uint8_t scp = 0;    // 2 or 3
  std::uint8_t scp_i = 0;  // the SCP "i" parameter
  gp::KeyType key_type = gp::KeyType::Aes128;  // SCP02: DES2/DES3; SCP03: AES*
  gp::DiversificationMethod method = gp::DiversificationMethod::None;
  // gp::KdfLayout text for kdf3/scp03kdf (empty = the method's default layout);
  // empty for none/visa2/emv.
  std::string kdf_layout;
  std::string kdf_constants;  // "01,02,03" form; empty = default
  HsmLabels hsm_labels;
  MasterKcvs kcvs;
  gp::KcvAlg kcv_alg = gp::KcvAlg::AesGp;  // DES keys: Des3Zero; AES keys: AesGp or AesCmac
};

struct KeySet {
  std::int64_t id = 0;
  std::int64_t issuer_id = 0;
  KeySetSpec spec;  // spec.issuer is the issuer's name; layout/constants normalised
  KeySetState state = KeySetState::Active;
  Timestamp created;

  // The diversification the HSM runs for this key set (layout parsed from the text).
  gp::DiversificationScheme scheme() const;
};

struct KeySetFilter {
  std::optional<std::string> issuer;      // by issuer name
  std::optional<std::uint8_t> kvn;        // by key set version
  std::optional<std::string> entitled_tsm;  // only issuers this TSM is entitled to
  bool active_only = false;
};

enum class TsmState { Accredited, Revoked };
const char* tsm_state_name(TsmState s) noexcept;  // "accredited", "revoked"
std::optional<TsmState> parse_tsm_state(std::string_view s) noexcept;

struct TsmSpec {
  std::string name;         // unique
  std::string cert_sha256;  // SHA-256 of the client certificate (DER), hex; ':' allowed
  std::string subject;      // the certificate subject, for humans
};

struct Tsm {
  std::int64_t id = 0;
  std::string name;
  std::string cert_sha256;  // 64 uppercase hex digits
  std::string subject;
  TsmState state = TsmState::Accredited;
  Timestamp created;
  std::optional<Timestamp> revoked;
};

struct Entitlement {
  std::string tsm;
  std::string issuer;
  Timestamp created;
};

enum class KekState { Pending, Active, Retired };
const char* kek_state_name(KekState s) noexcept;  // "pending", "active", "retired"
std::optional<KekState> parse_kek_state(std::string_view s) noexcept;
// The only transitions: pending -> active -> retired.
bool kek_transition_allowed(KekState from, KekState to) noexcept;

struct KekSpec {
  std::string tsm;          // TSM name
  std::uint32_t index = 0;  // unique per TSM
  gp::KeyType algorithm = gp::KeyType::Aes256;  // AES128, AES192 or AES256
  gp::Bytes kcv;            // AES-GP convention (gp::KcvAlg::AesGp), 3..16 bytes
  std::string hsm_label;
  std::optional<Timestamp> valid_from, valid_until;
};

struct Kek {
  std::int64_t id = 0;
  std::int64_t tsm_id = 0;
  KekSpec spec;
  KekState state = KekState::Pending;
  Timestamp created;
  std::optional<Timestamp> activated, retired;

  // Active, and `at` inside [valid_from, valid_until) where those are set.
  bool usable_at(Timestamp at) const;
};

enum class CounterAnomaly { None, Repeated, Backwards };
const char* counter_anomaly_name(CounterAnomaly a) noexcept;  // "none", "repeated", "backwards"

struct CounterCheck {
  std::optional<std::uint32_t> previous;  // nullopt the first time a card is seen
  CounterAnomaly anomaly = CounterAnomaly::None;
};

// One card of one issuer: keyed by (issuer, KDD), so a TSM of another issuer that sends the
// same KDD has a counter of its own and cannot move this one.
struct CardCounter {
  std::string issuer;  // issuer name
  gp::Bytes kdd;
  std::uint32_t last = 0;  // the counter of the latest release (anomalous ones included when released)
  std::uint32_t highest = 0;
  std::uint64_t anomalies = 0;  // releases whose counter repeated or went backwards
  Timestamp updated;
};

}  // namespace sekds::store
