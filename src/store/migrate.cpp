#include "store/migrate.h"

#include <string>

#include "store/store_error.h"
#include "store/time.h"

namespace sekds::store {

namespace {

bool has_version_table(sqlite::Connection& conn) {
  auto st = conn.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'",
                         "read schema version");
  return st.step();
}

void check_list(std::span<const Migration> migrations) {
  int expected = 1;
  for (const Migration& m : migrations) {
    if (m.version != expected) {
      throw StoreError(StoreErrc::Internal, "migration " + std::string(m.name) + " has version " +
                                                std::to_string(m.version) + ", expected " + std::to_string(expected));
    }
    ++expected;
  }
}

// Every recorded version must be the same file as in this build.
void check_recorded(sqlite::Connection& conn, std::span<const Migration> migrations) {
  auto st = conn.prepare("SELECT version, name FROM schema_version ORDER BY version", "read schema version");
  while (st.step()) {
    const auto v = st.int64(0);
    if (v < 1 || v > static_cast<std::int64_t>(migrations.size())) continue;  // newer: reported by the caller
    const Migration& m = migrations[static_cast<std::size_t>(v - 1)];
    if (st.text(1) != m.name) {
      throw StoreError(StoreErrc::Corrupt, "schema version " + std::to_string(v) + " was applied as '" + st.text(1) +
                                               "' but this build's migration " + std::to_string(v) + " is '" +
                                               std::string(m.name) + "' (not a sekds database of this lineage)");
    }
  }
}

void refuse_newer(int current, int latest) {
  if (current > latest) {
    throw StoreError(StoreErrc::SchemaTooNew, "database schema version " + std::to_string(current) +
                                                  " is newer than this sekds build (which knows up to version " +
                                                  std::to_string(latest) + "): upgrade sekds, do not downgrade");
  }
}

}  // namespace

int read_schema_version(sqlite::Connection& conn) {
  if (!has_version_table(conn)) return 0;
  auto st = conn.prepare("SELECT coalesce(max(version), 0) FROM schema_version", "read schema version");
  st.step();
  return static_cast<int>(st.int64(0));
}

void apply_migrations(sqlite::Connection& conn, std::span<const Migration> migrations) {
  check_list(migrations);
  const int latest = static_cast<int>(migrations.size());
  {
    // Fast path without the write lock: an up-to-date database (also when read-only).
    sqlite::ReadTransaction snapshot(conn, "read schema version");
    const int current = read_schema_version(conn);
    refuse_newer(current, latest);
    if (current > 0) check_recorded(conn, migrations);
    if (current == latest) return;
  }
  if (conn.read_only()) {
    throw StoreError(StoreErrc::ReadOnly, "database needs migration to schema version " + std::to_string(latest) +
                                              " but is opened read-only");
  }
  sqlite::WriteTransaction tx(conn, "migrate database");
  conn.exec(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
      " applied TEXT NOT NULL)",
      "create schema_version");
  // Re-read under the write lock: another process may have migrated meanwhile.
  const int current = read_schema_version(conn);
  refuse_newer(current, latest);
  check_recorded(conn, migrations);
  const std::string now = format_timestamp(now_utc());
  for (const Migration& m : migrations) {
    if (m.version <= current) continue;
    const std::string sql(m.sql);
    const std::string op = "apply migration " + std::string(m.name);
    conn.exec(sql.c_str(), op);
    auto st = conn.prepare("INSERT INTO schema_version (version, name, applied) VALUES (?1, ?2, ?3)",
                           "record migration");
    st.bind(1, m.version).bind(2, m.name).bind(3, now).run();
  }
  tx.commit();
}

}  // namespace sekds::store
