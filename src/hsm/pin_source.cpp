#include "hsm/pin_source.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

#include "hsm/error.h"
#include "process/secret_file.h"

namespace sekds::hsm {
namespace {

[[noreturn]] void fail(const std::string& what) { throw HsmError(HsmErrc::PinSource, what); }

gp::SecureBytes read_pin_file(const std::string& path) {
  gp::SecureText text;
  try {
    text = process::read_secret_file(path, 4096, process::ModeCheck::Private).text;
  } catch (const process::SecretFileError& e) {
    if (e.reason() == process::SecretFileError::Reason::TooLarge)
      fail("PIN file " + path + " is larger than 4 KiB; it does not look like a PIN");
    fail(std::string("PIN file ") + e.what());
  }
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  }
  if (text.empty()) fail("PIN file " + path + " is empty");
  return gp::SecureBytes(text.begin(), text.end());
}

// Takes the PIN out of the environment: its bytes are overwritten where they are (the block
// the kernel copied at exec, which /proc/PID/environ shows, or glibc's setenv copy, which
// unsetenv never frees), then the variable is removed, so neither children nor a later getenv
// see it. Copies outside this process (the parent shell's) are out of reach.
gp::SecureBytes take_env_pin(const std::string& name) {
  char* v = std::getenv(name.c_str());
  if (v == nullptr) fail("PIN variable " + name + " is not set");
  if (*v == '\0') fail("PIN variable " + name + " is empty");
  const std::size_t n = std::strlen(v);
  gp::SecureBytes pin(v, v + n);
  gp::secure_wipe(v, n);
  ::unsetenv(name.c_str());
  return pin;
}

}  // namespace

PinSource PinSource::parse(std::string_view spec) {
  PinSource p;
  if (spec.rfind("file:", 0) == 0) {
    p.kind_ = Kind::File;
    p.where_ = std::string(spec.substr(5));
    if (p.where_.empty()) fail("PIN source 'file:' needs a path (file:/path/to/pin)");
  } else if (spec.rfind("env:", 0) == 0) {
    p.kind_ = Kind::Env;
    p.where_ = std::string(spec.substr(4));
    p.env_ = std::make_shared<EnvPin>();
    if (p.where_.empty()) fail("PIN source 'env:' needs a variable name (env:NAME)");
    for (char c : p.where_)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
        fail("PIN source env:" + p.where_ + ": not a valid environment variable name");
  } else {
    // Never echo the spec: it might be a PIN typed in the wrong place.
    fail("PIN source must be 'file:/path' or 'env:NAME' (PINs are never given literally)");
  }
  return p;
}

PinSource PinSource::value(gp::SecureBytes pin) {
  if (pin.empty()) fail("PIN is empty");
  PinSource p;
  p.kind_ = Kind::Value;
  p.value_ = std::move(pin);
  return p;
}

gp::SecureBytes PinSource::read() const {
  switch (kind_) {
    case Kind::File: return read_pin_file(where_);
    case Kind::Env: {
      // The variable is gone after the first read: later reads (a reconnect) get the copy.
      const std::lock_guard<std::mutex> guard(env_->mu);
      if (!env_->taken) {
        env_->pin = take_env_pin(where_);
        env_->taken = true;
      }
      return env_->pin;
    }
    case Kind::Value:
      if (value_.empty()) fail("no PIN source configured (give file:/path or env:NAME)");
      return value_;
  }
  fail("unknown PIN source");
}

std::string PinSource::describe() const {
  switch (kind_) {
    case Kind::File: return "file:" + where_;
    case Kind::Env: return "env:" + where_;
    case Kind::Value: return "value";
  }
  return "?";
}

}  // namespace sekds::hsm
