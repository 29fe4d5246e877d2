#include "tsm/error.h"

#include <exception>

#include "gp/error.h"
#include "gp/status_word.h"
#include "hsm/error.h"

namespace sekds::tsm {

const char* tsm_errc_name(TsmErrc c) noexcept {
  switch (c) {
    case TsmErrc::Usage: return "Usage";
    case TsmErrc::Config: return "Config";
    case TsmErrc::CardTransport: return "CardTransport";
    case TsmErrc::CardStatus: return "CardStatus";
    case TsmErrc::CardData: return "CardData";
    case TsmErrc::SecureChannel: return "SecureChannel";
    case TsmErrc::TtpFault: return "TtpFault";
    case TsmErrc::TtpTransport: return "TtpTransport";
    case TsmErrc::Verification: return "Verification";
    case TsmErrc::Hsm: return "Hsm";
    case TsmErrc::Internal: return "Internal";
  }
  return "Internal";
}

int exit_code(TsmErrc c) noexcept {
  switch (c) {
    case TsmErrc::Usage:
    case TsmErrc::Config: return 2;
    case TsmErrc::TtpFault: return 3;
    case TsmErrc::CardStatus:
    case TsmErrc::CardData:
    case TsmErrc::SecureChannel: return 4;
    case TsmErrc::CardTransport:
    case TsmErrc::TtpTransport: return 5;
    case TsmErrc::Verification: return 6;
    case TsmErrc::Hsm: return 7;
    case TsmErrc::Internal: return 1;
  }
  return 1;
}

TsmError::TsmError(TsmErrc code, const std::string& what, std::string name)
    : std::runtime_error(what), code_(code), name_(name.empty() ? tsm_errc_name(code) : std::move(name)) {}

void rethrow_translated(const std::string& context) {
  const std::string pre = context.empty() ? std::string() : context + ": ";
  try {
    throw;
  } catch (const TsmError& e) {
    throw TsmError(e.code(), pre + e.what(), e.name());
  } catch (const gp::StatusWordError& e) {
    throw TsmError(TsmErrc::CardStatus, pre + e.what(), e.name());
  } catch (const gp::GpError& e) {
    // Cryptographic and protocol failures are the channel's; malformed bytes are the card's data.
    switch (e.code()) {
      case gp::Errc::CryptogramMismatch:
      case gp::Errc::MacMismatch:
      case gp::Errc::CounterReplay:
      case gp::Errc::SecurityNotSatisfied:
      case gp::Errc::PaddingInvalid:
      case gp::Errc::Unsupported:
      case gp::Errc::KcvMismatch:
      case gp::Errc::UnwrapFailed:
        throw TsmError(TsmErrc::SecureChannel, pre + e.what(), e.name());
      default:
        throw TsmError(TsmErrc::CardData, pre + e.what(), e.name());
    }
  } catch (const hsm::HsmError& e) {
    throw TsmError(TsmErrc::Hsm, pre + "KEK token: " + e.what(), e.name());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw TsmError(TsmErrc::Internal, pre + e.what());
  }
}

}  // namespace sekds::tsm
