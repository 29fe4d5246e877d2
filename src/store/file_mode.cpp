#include "store/file_mode.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "process/secret_file.h"
#include "store/store_error.h"

namespace sekds::store {
namespace {

[[noreturn]] void refuse(const std::string& what) { throw StoreError(StoreErrc::Io, what); }

// Refuses `file` unless it is a regular file only its owner can access; a missing file is
// left to SQLite (-wal and -shm come and go; a missing database is SQLite's error to report)
// unless `must_exist`.
void check_private(const std::string& file, const char* what, bool must_exist = false) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    // A dangling symbolic link: SQLite would create its target with the umask's mode.
    if (errno == ENOENT && !must_exist) return;
    refuse(std::string(what) + " " + file + ": " + std::strerror(errno));
  }
  if (const std::string problem = process::private_file_problem(st, file); !problem.empty())
    refuse(std::string(what) + " " + file + problem);
}

}  // namespace

void prepare_database_files(const std::filesystem::path& path, bool create) {
  const std::string db = path.string();
  if (create) {
    // O_EXCL: only a file made here is given its mode here; an existing one is checked below.
    const int fd = ::open(db.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
      // The umask can only take bits away from 0600; fchmod puts back any it took from the
      // owner (umask 0277 would leave a database the service cannot write).
      const bool ok = ::fchmod(fd, 0600) == 0;
      const int err = errno;
      ::close(fd);
      if (!ok) refuse("database file " + db + ": chmod 600: " + std::strerror(err));
    } else if (errno != EEXIST) {
      refuse("open database " + db + ": " + std::strerror(errno));
    }
  }
  check_private(db, "database file", create);
  check_private(db + "-wal", "database WAL file");
  check_private(db + "-shm", "database shared-memory file");
}

}  // namespace sekds::store
