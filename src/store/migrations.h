// Versioned schema migrations (db/NNNN_name.sql), embedded in the binary at build time.
#pragma once

#include <span>
#include <string_view>

namespace sekds::store {

struct Migration {
  int version;            // NNNN, from 1 without gaps
  std::string_view name;  // the file name, for the schema_version table and errors
  std::string_view sql;
};

// The migrations of this build, in order (generated from db/*.sql).
std::span<const Migration> embedded_migrations();

}  // namespace sekds::store
