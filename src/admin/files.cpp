#include "admin/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "admin/errors.h"
#include "process/secret_file.h"

namespace sekds::admin {

namespace {

using process::mode_text;

[[noreturn]] void file_error(const std::filesystem::path& p, const std::string& what, int err) {
  throw AdminError(ExitCode::Usage, "FileError", p.string() + ": " + what + ": " + std::strerror(err));
}

}  // namespace

void ensure_private_dir(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw AdminError(ExitCode::Usage, "FileError", dir.string() + ": not a directory");
    if ((st.st_mode & 077) != 0)
      std::cerr << "sekds-admin: warning: " << dir.string() << " is open to group/others (mode " << mode_text(st.st_mode)
                << "); component files in it are still 0600\n";
    return;
  }
  if (errno != ENOENT) file_error(dir, "cannot stat", errno);
  std::error_code ec;
  if (!dir.parent_path().empty()) std::filesystem::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) file_error(dir, "cannot create the directory", errno);
  ::chmod(dir.c_str(), 0700);
}

void write_private_file(const std::filesystem::path& path, const gp::SecureText& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw AdminError(ExitCode::Usage, "FileExists", path.string() + ": exists already (component files are never overwritten)");
    file_error(path, "cannot create", errno);
  }
  auto fail = [&](const char* what) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    file_error(path, what, err);
  };
  if (::fchmod(fd, 0600) != 0) fail("cannot set mode 0600");
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("cannot sync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    file_error(path, "cannot close", err);
  }
}

gp::SecureText read_private_file(const std::filesystem::path& path) {
  using R = process::SecretFileError::Reason;
  process::SecretFile f;
  try {
    f = process::read_secret_file(path, 65536, process::ModeCheck::Any);
  } catch (const process::SecretFileError& e) {
    if (e.reason() == R::TooLarge)
      throw AdminError(ExitCode::Usage, "FileError", path.string() + ": larger than 64 KiB, not a component sheet");
    throw AdminError(ExitCode::Usage, "FileError", e.what());
  }
  if ((f.mode & 077) != 0)
    std::cerr << "sekds-admin: warning: " << path.string() << " may be read by group/others (mode " << mode_text(f.mode)
              << "); a key component belongs to one custodian (chmod 600)\n";
  return std::move(f.text);
}

}  // namespace sekds::admin
