// The values a key ceremony records beside each master so that a key release never needs a
// readable value derived from the master (key_policy.h says why that matters).
//
// - kcv: the master's GP-convention KCV, computed when the key was made (from the combined
//   value for an import; in the HSM for a generation) — later KCV queries read it here.
// - l: for AES masters, L = AES(MK, 0^128), from which the CMAC subkeys K1/K2 follow
//   (SP 800-38B). The masked-CMAC recipe (key_release.h) needs them for every card key.
// - chains: for KDF layouts whose PRF input is longer than one block, the CBC-MAC chaining
//   value C_{n-1} before the last block, per distinct prefix M_1..M_{n-1}. A prefix is public
//   (label, constants, L, counter) — so these are finitely many per key set and known at the
//   ceremony. A layout that puts KDD bytes before the last block would need a per-card
//   readable intermediate at run time; it is refused (prefixes_needed) — on a module with
//   CKM_SP800_108_COUNTER_KDF no masks are needed at all (the HSM portability work).
//
// Stored as one private, non-modifiable CKO_DATA object per master: the master's label and
// CKA_APPLICATION "sekds/ceremony-values". These values are not keys (a card key needs one more
// encryption under the master) but they are derived from one: SecureBytes, wiped, never logged.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "hsm/session.h"

namespace sekds::hsm {

inline constexpr const char* kCeremonyValuesApplication = "sekds/ceremony-values";

struct CeremonyValues {
  struct Chain {
    gp::Bytes prefix;       // M_1 .. M_{n-1}, whole 16-byte blocks
    gp::SecureBytes value;  // C_{n-1}
  };
  gp::Bytes kcv;
  gp::SecureBytes l;  // empty for DES masters
  std::vector<Chain> chains;

  // The chaining value recorded for `prefix`, or nullptr.
  const gp::SecureBytes* chain(gp::ByteView prefix) const noexcept;

  gp::SecureBytes encode() const;
  // Throws HsmError(InvalidArgument) on a malformed record.
  static CeremonyValues decode(gp::ByteView data);
};

// The roles a master serves: all three for a shared key set, else its own.
std::vector<gp::KeyRole> master_roles(bool shared, gp::KeyRole own);

// The prefixes whose chaining values a release of `type` keys for `roles` with `scheme` needs
// (none for DES methods, method none and single-block layouts). Throws HsmError(Unsupported)
// naming the layout when it puts KDD bytes before the last CMAC block.
std::vector<gp::Bytes> prefixes_needed(const gp::DiversificationScheme& scheme, gp::KeyType type,
                                       const std::vector<gp::KeyRole>& roles);

// Computed from the master's value, which the host holds during an import ceremony.
CeremonyValues ceremony_values_from_value(gp::ByteView master, gp::KeyType type, gp::KcvAlg kcv_alg,
                                          const std::vector<gp::Bytes>& prefixes);

// Computed in the HSM for a generated master: each value is one readable C_DeriveKey, done
// here, once, in the generation ceremony and never at run time. A module that enforces
// CKA_DERIVE_TEMPLATE refuses that; the error says to import components instead.
CeremonyValues ceremony_values_in_hsm(Session& s, CK_OBJECT_HANDLE master, gp::KeyType type, gp::KcvAlg kcv_alg,
                                      const std::vector<gp::Bytes>& prefixes, bool private_objects);

// Creates the record on the token (private, non-modifiable); returns its handle.
CK_OBJECT_HANDLE store_ceremony_values(Session& s, const std::string& label, const CeremonyValues& v);
// The record of `label`, if there is one.
std::optional<CeremonyValues> load_ceremony_values(Session& s, const std::string& label);

}  // namespace sekds::hsm
