// Errors of the TSM client: one type with a kind (what failed), a stable name (a status-word
// name, a TTP fault code, a KCV or TLS cause) and a message for people. Created where the
// problem is known (transport, card, TTP, HSM), translated once at the CLI boundary into a
// line on stderr and an exit code (exit_code()).
#pragma once

#include <stdexcept>
#include <string>

namespace sekds::tsm {

enum class TsmErrc {
  Usage,          // a command line or script that cannot be run as written
  Config,         // the configuration file or a file it names
  CardTransport,  // the card could not be reached (grid, PC/SC)
  CardStatus,     // the card answered with a status word the step does not accept
  CardData,       // the card's data objects or responses are malformed
  SecureChannel,  // the secure channel failed (cryptogram, MAC, unsupported i or level)
  TtpFault,       // the TTP answered with a SOAP fault (name() is its FaultCode)
  TtpTransport,   // no answer from the TTP (TLS, refused, timeout ...)
  Verification,   // a KCV, KEK KCV or response field that does not match: keys refused
  Hsm,            // the TSM's own token (KEK store)
  Internal,
};

const char* tsm_errc_name(TsmErrc c) noexcept;

// Exit codes of sekds-tsm (documented in `sekds-tsm --help`):
//   0 success, 1 internal, 2 usage / configuration, 3 TTP refused (fault),
//   4 card status word / secure channel, 5 card or TTP unreachable, 6 verification failed,
//   7 HSM (KEK token).
int exit_code(TsmErrc c) noexcept;

class TsmError : public std::runtime_error {
 public:
  // `name` is the stable machine name: "SW_SECURITY_STATUS_NOT_SATISFIED", "KekNotActive",
  // "KcvMismatch", "Tls" ... (empty: the kind's name is used).
  TsmError(TsmErrc code, const std::string& what, std::string name = {});
  TsmErrc code() const noexcept { return code_; }
  const std::string& name() const noexcept { return name_; }
  int exit_code() const noexcept { return tsm::exit_code(code_); }

 private:
  TsmErrc code_;
  std::string name_;
};

// Runs fn and translates the errors of the lower layers (gp::GpError, gp::StatusWordError,
// hsm::HsmError) into TsmError, prefixing `context` ("open: ..."). TsmError passes unchanged
// (with the context prefixed).
template <class F>
auto translate_errors(const std::string& context, F&& fn) -> decltype(fn());

[[noreturn]] void rethrow_translated(const std::string& context);

template <class F>
auto translate_errors(const std::string& context, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (...) {
    rethrow_translated(context);
  }
}

}  // namespace sekds::tsm
