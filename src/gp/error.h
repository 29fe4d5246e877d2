// Errors of the GlobalPlatform layer: a name, a message, and where known the offset.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace sekds::gp {

enum class Errc {
  InvalidHex,         // not hex, odd length
  InvalidLength,      // a field has the wrong length
  InvalidArgument,    // a value out of range or not allowed
  TlvTruncated,       // a TLV runs past the end of its buffer
  TlvBadTag,          // a tag that cannot be parsed
  TlvBadLength,       // a length field that is malformed or impossible
  TlvTrailingData,    // bytes left after the last object where none may be
  ApduMalformed,      // a command or response APDU that is not well formed
  Unsupported,        // a valid value this implementation does not handle
  CryptoFailure,      // OpenSSL reported an error
  CryptogramMismatch, // card or host cryptogram does not verify
  MacMismatch,        // C-MAC or R-MAC does not verify
  CounterReplay,      // sequence counter or encryption counter misuse
  SecurityNotSatisfied, // command needs a secure channel / level not met
  PaddingInvalid,     // ISO 9797-1 method 2 padding missing
  KcvMismatch,        // a key check value does not match
  UnwrapFailed,       // AES key wrap integrity check failed (tampered data or wrong KEK)
};

const char* errc_name(Errc e) noexcept;

class GpError : public std::runtime_error {
 public:
  GpError(Errc code, const std::string& what, std::optional<std::size_t> offset = std::nullopt);
  Errc code() const noexcept { return code_; }
  const char* name() const noexcept { return errc_name(code_); }
  std::optional<std::size_t> offset() const noexcept { return offset_; }

 private:
  Errc code_;
  std::optional<std::size_t> offset_;
};

}  // namespace sekds::gp
