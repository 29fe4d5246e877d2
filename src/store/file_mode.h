// Modes of the database files. The database holds the audit log, the key-set metadata (HSM
// labels, KCVs) and the TSMs' fingerprints: it is the service user's alone, like a PIN file.
#pragma once

#include <filesystem>

namespace sekds::store {

// Before SQLite opens `path`: creates it empty with mode 0600 when it does not exist and
// `create` is set (whatever the umask), then refuses, with StoreError(Io) naming the file and
// its mode, a database, -wal or -shm file that is not a regular file or that group or others
// may access. The -wal and -shm files need no step of their own: SQLite's unix VFS creates
// them with the database file's mode (its findCreateFileMode and the -shm open copy
// st_mode & 0777 and pass it to open(2)), so they are 0600 from their first byte.
void prepare_database_files(const std::filesystem::path& path, bool create);

}  // namespace sekds::store
