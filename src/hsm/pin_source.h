// Where a PIN comes from: a file or an environment variable, never the command line.
//
//   file:/path   the file's content, with ONE trailing newline ("\n" or "\r\n") removed.
//                The file must be a regular file that neither group nor others may access
//                (mode & 077 == 0): a PIN file readable by others is REFUSED, not warned about,
//                because a warning in a log is easy to miss and the fix (chmod 600) is trivial.
//   env:NAME     the value of the variable NAME (must be set and non-empty). The first read
//                wipes the value in the environment and unsets NAME; the source (and its
//                copies) keep the PIN for later reads.
//
// The PIN itself lives only in a gp::SecureBytes.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "gp/bytes.h"

namespace sekds::hsm {

class PinSource {
 public:
  enum class Kind { File, Env, Value };

  // Parses "file:/path" or "env:NAME"; throws HsmError(PinSource) naming what is wrong.
  static PinSource parse(std::string_view spec);
  // A PIN already in memory (a ceremony that prompted for it, a test). Never printed.
  static PinSource value(gp::SecureBytes pin);

  // Reads the PIN now; throws HsmError(PinSource) on a missing/unsafe/empty source.
  gp::SecureBytes read() const;

  Kind kind() const noexcept { return kind_; }
  // "file:/path", "env:NAME" or "value" — safe to log (never the PIN).
  std::string describe() const;

 private:
  Kind kind_ = Kind::Value;
  std::string where_;
  gp::SecureBytes value_;
  struct EnvPin {
    std::mutex mu;
    bool taken = false;
    gp::SecureBytes pin;
  };
  std::shared_ptr<EnvPin> env_;  // env: the PIN once taken out of the environment
};

}  // namespace sekds::hsm
