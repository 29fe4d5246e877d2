// Files that hold key components: created new (never overwritten), mode 0600, synced; read
// into wiping buffers.
#pragma once

#include <filesystem>

#include "gp/key_component.h"

namespace sekds::admin {

// Creates `dir` (mode 0700) if missing. An existing directory that group or others may
// enter is reported on stderr. Throws AdminError(Usage) if it cannot be created.
void ensure_private_dir(const std::filesystem::path& dir);

// Creates `path` exclusively with mode 0600, writes `text`, fsyncs. Throws AdminError(Usage,
// "FileExists") if it exists, AdminError(Usage) on other failures (nothing left behind).
void write_private_file(const std::filesystem::path& path, const gp::SecureText& text);

// Reads a whole (small) file. A file group or others may read is reported on stderr.
// Throws AdminError(Usage) if it cannot be read or is larger than 64 KiB.
gp::SecureText read_private_file(const std::filesystem::path& path);

}  // namespace sekds::admin
