#include "gp/error.h"

namespace sekds::gp {

const char* errc_name(Errc e) noexcept {
  switch (e) {
    case Errc::InvalidHex: return "InvalidHex";
    case Errc::InvalidLength: return "InvalidLength";
    case Errc::InvalidArgument: return "InvalidArgument";
    case Errc::TlvTruncated: return "TlvTruncated";
    case Errc::TlvBadTag: return "TlvBadTag";
    case Errc::TlvBadLength: return "TlvBadLength";
    case Errc::TlvTrailingData: return "TlvTrailingData";
    case Errc::ApduMalformed: return "ApduMalformed";
    case Errc::Unsupported: return "Unsupported";
    case Errc::CryptoFailure: return "CryptoFailure";
    case Errc::CryptogramMismatch: return "CryptogramMismatch";
    case Errc::MacMismatch: return "MacMismatch";
    case Errc::CounterReplay: return "CounterReplay";
    case Errc::SecurityNotSatisfied: return "SecurityNotSatisfied";
    case Errc::PaddingInvalid: return "PaddingInvalid";
    case Errc::KcvMismatch: return "KcvMismatch";
    case Errc::UnwrapFailed: return "UnwrapFailed";
  }
  return "Unknown";
}

namespace {
std::string with_offset(const std::string& what, std::optional<std::size_t> offset) {
  if (!offset) return what;
  return what + " (at offset " + std::to_string(*offset) + ")";
}
}  // namespace

GpError::GpError(Errc code, const std::string& what, std::optional<std::size_t> offset)
    : std::runtime_error(with_offset(what, offset)), code_(code), offset_(offset) {}

}  // namespace sekds::gp
