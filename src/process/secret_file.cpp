#include "process/secret_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace sekds::process {
namespace {

[[noreturn]] void fail(SecretFileError::Reason r, const std::filesystem::path& p, const std::string& what, int err = 0) {
  throw SecretFileError(r, err, p.string() + ": " + what + (err != 0 ? std::string(": ") + std::strerror(err) : ""));
}

class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string private_file_problem(const struct stat& st, const std::string& file) {
  if (!S_ISREG(st.st_mode)) return " is not a regular file";
  if ((st.st_mode & 077) != 0)
    return " has mode " + mode_text(st.st_mode) + "; group and others must have no access (chmod 600 " + file + ")";
  return {};
}

SecretFile read_secret_file(const std::filesystem::path& path, std::size_t max_bytes, ModeCheck check) {
  using R = SecretFileError::Reason;
  const Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) fail(R::Open, path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(R::Open, path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) fail(R::NotRegular, path, "not a regular file");
  if (check == ModeCheck::Private && (st.st_mode & 077) != 0)
    fail(R::Exposed, path, "mode " + mode_text(st.st_mode) + ": group and others must have no access (chmod 600 " +
                               path.string() + ")");
  if (static_cast<std::uintmax_t>(st.st_size) > max_bytes)
    fail(R::TooLarge, path, "larger than " + std::to_string(max_bytes) + " bytes");

  SecretFile out;
  out.mode = st.st_mode;
  // One byte more than the file's size: a read that fills it means the file grew meanwhile.
  out.text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), out.text.data() + got, out.text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(R::Read, path, "cannot read", errno);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got == out.text.size()) fail(R::Read, path, "changed while being read");
  }
  out.text.resize(got);
  return out;
}

}  // namespace sekds::process
