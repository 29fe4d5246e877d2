// Which token to use: a plain token label, or an RFC 7512 `pkcs11:` URI restricted to the
// attributes that select a token (token, manufacturer, serial, model, slot-id).
//
//   "sekds"                                   the token labelled "sekds"
//   "pkcs11:token=sekds;serial=1a2b3c4d5e6f"  label and serial must both match
//   "pkcs11:slot-id=649702137"                slot ids are whatever the module says (not 0..n)
//
// Values are percent-decoded (%20 ...). Object attributes (object, id, type), library and
// slot descriptions, and any query (pin-value, pin-source, module-path ...) are refused with
// an error naming the attribute: PINs come from a PinSource and the module from the config.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "hsm/pkcs11.h"

namespace sekds::hsm {

struct TokenSelector {
  std::optional<std::string> label, manufacturer, serial, model;
  std::optional<CK_SLOT_ID> slot_id;

  // Throws HsmError(BadUri) naming the problem.
  static TokenSelector parse(std::string_view spec);

  // Fields of CK_TOKEN_INFO are compared with their space padding removed.
  bool matches(CK_SLOT_ID slot, const CK_TOKEN_INFO& info) const;
  // For messages: "token label 'x'" or the URI form.
  std::string describe() const;
};

// A fixed-width, space-padded CK_TOKEN_INFO field without its padding.
std::string token_field(const unsigned char* field, std::size_t width);

}  // namespace sekds::hsm
