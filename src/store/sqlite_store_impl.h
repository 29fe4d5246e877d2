// Internals shared by the SqliteStore source files (entities, audit). Not installed.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "store/group_commit.h"
#include "store/sqlite_db.h"
#include "store/sqlite_store.h"
#include "store/store_error.h"
#include "store/validate.h"
#include "store/wal_checkpointer.h"

namespace sekds::store {

struct SqliteStore::Impl {
  Impl(const std::filesystem::path& path, const SqliteOptions& options);

  SqliteOptions options;
  sqlite::ConnectionPool pool;
  // Before the committer: its connection calls into the checkpointer until it is closed.
  std::unique_ptr<WalCheckpointer> checkpointer;  // none for a read-only store
  GroupCommitter committer;

  // Appends `record` (already validated, detail serialised) inside the caller's write
  // transaction: reads the chain head on first use, checks idempotency, inserts.
  static AppendResult insert_audit(sqlite::Connection& conn, BatchState& batch, const AuditRecord& record,
                                   const std::string& detail);
  // Writes the moved chain head before COMMIT.
  static void finish_batch(sqlite::Connection& conn, BatchState& batch);

  AppendResult append(const AuditRecord& record);

  // Runs an admin change and its audit record in one write transaction. `change` throws
  // StoreError to refuse; the refusal is then audited on its own (result = error name)
  // and rethrown. `record` is prefilled with actor, request id and operation.
  template <class Change>
  AuditId admin_change(const AuditContext& who, AuditRecord record, Change&& change);
};

template <class Change>
AuditId SqliteStore::Impl::admin_change(const AuditContext& who, AuditRecord record, Change&& change) {
  record.actor = who.actor;
  record.request_id = who.request_id;
  try {
    validate::audit_context(who);
    auto conn = pool.acquire();
    sqlite::WriteTransaction tx(*conn, record.operation);
    change(*conn, record);
    const std::string detail = validate::audit_record(record);
    BatchState batch;
    const AppendResult r = insert_audit(*conn, batch, record, detail);
    finish_batch(*conn, batch);
    tx.commit();
    return r.seq;
  } catch (const StoreError& e) {
    if (!e.is_storage_failure()) {
      try {
        record.result = e.name();
        record.detail["error"] = e.what();
        append(record);
      } catch (const std::exception&) {
        // The refusal is what the caller needs to see; a failed audit of it is not.
      }
    }
    throw;
  }
}

// "TSM 'x' not found" style errors.
[[noreturn]] inline void not_found(const std::string& what) { throw StoreError(StoreErrc::NotFound, what + " not found"); }
inline std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace sekds::store

namespace sekds::store {

// Reading stored values back; a value that does not parse is Corrupt, naming the column.
Timestamp column_time(const sqlite::Statement& st, int col, std::string_view what);
std::optional<Timestamp> column_opt_time(const sqlite::Statement& st, int col, std::string_view what);
gp::Bytes column_hex(const sqlite::Statement& st, int col, std::string_view what);
std::optional<std::string> opt_time_text(const std::optional<Timestamp>& t);

template <class E>
E column_enum(const sqlite::Statement& st, int col, std::optional<E> (*parse)(std::string_view) noexcept,
              std::string_view what) {
  const std::string text = st.text(col);
  if (auto v = parse(text)) return *v;
  throw StoreError(StoreErrc::Corrupt, "stored " + std::string(what) + " '" + text + "' is not known");
}

}  // namespace sekds::store
