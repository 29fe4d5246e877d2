// Object labels (CKA_LABEL; CKA_ID carries the same bytes):
//   master keys  sekds/mk/<issuer>/<kvn>/<enc|mac|dek|all>   kvn in decimal; 'all' = one shared key
//   KEKs         sekds/kek/<tsm>/<index>                     index in decimal
// Issuer and TSM names: 1..64 characters of [A-Za-z0-9._-] (no '/', so labels parse back).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "gp/diversification.h"

namespace sekds::hsm {

// Throws HsmError(InvalidArgument) naming `what` if `name` is not a valid issuer/TSM name.
void check_name(std::string_view what, std::string_view name);

// `role` nullopt = the shared key ('all').
std::string master_key_label(std::string_view issuer, unsigned kvn, std::optional<gp::KeyRole> role);
std::string kek_label(std::string_view tsm, unsigned index);

// The master keys of one key set: a label per role (the same label three times when shared).
struct MasterKeyRef {
  std::string enc, mac, dek;

  static MasterKeyRef shared(const std::string& label) { return {label, label, label}; }
  static MasterKeyRef of_key_set(std::string_view issuer, unsigned kvn, bool shared);
  const std::string& of(gp::KeyRole r) const noexcept;
  bool is_shared() const noexcept { return enc == mac && mac == dek; }
};

}  // namespace sekds::hsm
