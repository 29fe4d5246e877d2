// Exit codes of sekds-admin and the one place where errors of every layer become one of them.
//
//   0  OK
//   1  refused: a check failed (wrong KCV, bad certificate, unknown or duplicate name, illegal
//      state change, not confirmed, broken audit chain ...) — nothing was changed
//   2  usage: bad options or arguments, or a configuration problem (file, key, PIN source)
//   3  HSM unavailable or failing (module, token, login, PKCS#11 error)
//   4  store error: the database cannot be opened, read or written
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace sekds::admin {

enum class ExitCode : int { Ok = 0, Refused = 1, Usage = 2, HsmUnavailable = 3, StoreError = 4 };

// An error the admin layer raises itself: the exit code, a stable name (recorded as the audit
// result of a refusal: "KcvMismatch", "CertificateRejected", "NotConfirmed", ...) and a message.
class AdminError : public std::runtime_error {
 public:
  AdminError(ExitCode code, std::string name, const std::string& message)
      : std::runtime_error(message), code_(code), name_(std::move(name)) {}
  ExitCode code() const noexcept { return code_; }
  const std::string& name() const noexcept { return name_; }

 private:
  ExitCode code_;
  std::string name_;
};

[[noreturn]] inline void usage_error(const std::string& message) { throw AdminError(ExitCode::Usage, "Usage", message); }

struct Failure {
  ExitCode code = ExitCode::Refused;
  std::string name;     // AdminError name, StoreErrc / CKR_ / HsmErrc / gp::Errc name
  std::string message;
};

// Translates an exception of any layer (AdminError, ConfigError, StoreError, HsmError, GpError,
// anything else) into its exit code, name and message.
Failure classify(std::exception_ptr e);

}  // namespace sekds::admin
