// The one reader of files that hold secrets (PIN files, key files, component sheets).
//
// read(2) on one descriptor straight into a wiping buffer: no std::ifstream/stdio buffer keeps
// a copy of the secret in the heap, and the checks (regular file, size, mode) and the read see
// the same file (no check-then-open race).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "gp/bytes.h"

namespace sekds::process {

class SecretFileError : public std::runtime_error {
 public:
  enum class Reason { Open, NotRegular, TooLarge, Exposed, Read };
  SecretFileError(Reason r, int err, const std::string& what) : std::runtime_error(what), reason_(r), errno_(err) {}
  Reason reason() const noexcept { return reason_; }
  int error_number() const noexcept { return errno_; }  // errno for Open and Read, else 0

 private:
  Reason reason_;
  int errno_;
};

enum class ModeCheck {
  Any,      // the caller checks or warns about the mode itself (SecretFile::mode)
  Private,  // refuse (Exposed) a file group or others may access: mode & 077 != 0
};

struct SecretFile {
  gp::SecureText text;
  mode_t mode = 0;  // st_mode of the file that was read
};

// Reads all of `path` (at most max_bytes; a larger or growing file is TooLarge). Throws
// SecretFileError whose what() is "<path>: <reason>" and never contains file content.
SecretFile read_secret_file(const std::filesystem::path& path, std::size_t max_bytes, ModeCheck check);

// "0640": for messages about a file's mode.
std::string mode_text(mode_t mode);

// For files only their owner may access (the TTP store, the log, the card grid): "" when `st`
// is a regular file group and others cannot access, else what is wrong, worded to follow the
// file's name: " is not a regular file" or " has mode 0644; group and others must have no
// access (chmod 600 <file>)".
std::string private_file_problem(const struct stat& st, const std::string& file);

}  // namespace sekds::process
