// AES key wrap (RFC 3394) and AES key wrap with padding (RFC 5649) on OpenSSL EVP.
// sekds releases card keys wrapped under a TSM's KEK with these (SOAP WrapAlgorithm).
#pragma once

#include <optional>
#include <string_view>

#include "gp/bytes.h"

namespace sekds::gp {

enum class KeyWrapAlgorithm {
  Rfc3394,  // key a multiple of 8 bytes, at least 16; output key + 8
  Rfc5649,  // any key of 1 byte or more; output padded to 8, + 8
};

const char* key_wrap_name(KeyWrapAlgorithm a) noexcept;  // "RFC3394", "RFC5649"
std::optional<KeyWrapAlgorithm> parse_key_wrap(std::string_view s) noexcept;

// KEK: AES-128/192/256. Throws GpError(InvalidLength) for a KEK or key of a wrong length.
Bytes aes_key_wrap(KeyWrapAlgorithm alg, ByteView kek, ByteView key);
// Throws GpError(InvalidLength) for impossible lengths and GpError(MacMismatch) when the
// integrity check (the RFC's initial value / alternative initial value) fails: wrong KEK or
// tampered data. Nothing of the failed output is returned.
SecureBytes aes_key_unwrap(KeyWrapAlgorithm alg, ByteView kek, ByteView wrapped);

}  // namespace sekds::gp
