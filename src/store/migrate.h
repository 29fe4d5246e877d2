// Applies versioned migrations on open, all pending ones in one transaction, and records
// them in schema_version.
#pragma once

#include <span>

#include "store/migrations.h"
#include "store/sqlite_db.h"

namespace sekds::store {

// The version recorded in the database (0 for a fresh file).
int read_schema_version(sqlite::Connection& conn);

// Brings the database to the newest of `migrations`. Throws StoreError: SchemaTooNew when
// the database is newer than the code; Corrupt when a recorded migration has another name
// than this build's (not a sekds database, or a renamed file); ReadOnly when migrations
// are pending on a read-only connection; whatever a failing migration raises (the
// transaction is rolled back, nothing is half-applied).
void apply_migrations(sqlite::Connection& conn, std::span<const Migration> migrations);

}  // namespace sekds::store
