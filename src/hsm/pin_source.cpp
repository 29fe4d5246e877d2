#include "hsm/pin_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "hsm/error.h"

namespace sekds::hsm {
namespace {

[[noreturn]] void fail(const std::string& what) { throw HsmError(HsmErrc::PinSource, what); }

std::string mode_text(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// Reads the whole file through one descriptor so the permission check and the read see the
// same file (no check-then-open race).
gp::SecureBytes read_pin_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("PIN file " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail("PIN file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("PIN file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0)
    fail("PIN file " + path + " has mode " + mode_text(st.st_mode) +
         "; group and others must have no access (chmod 600 " + path + ")");
  if (st.st_size > 4096) fail("PIN file " + path + " is larger than 4 KiB; it does not look like a PIN");
  gp::SecureBytes pin(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    ssize_t n = ::read(fd, pin.data() + got, pin.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("PIN file " + path + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got == pin.size()) fail("PIN file " + path + " changed while being read");
  }
  pin.resize(got);
  if (!pin.empty() && pin.back() == '\n') {
    pin.pop_back();
    if (!pin.empty() && pin.back() == '\r') pin.pop_back();
  }
  if (pin.empty()) fail("PIN file " + path + " is empty");
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
      const char* v = std::getenv(where_.c_str());
      if (v == nullptr) fail("PIN variable " + where_ + " is not set");
      if (*v == '\0') fail("PIN variable " + where_ + " is empty");
      return gp::SecureBytes(v, v + std::strlen(v));
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
