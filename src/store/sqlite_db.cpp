#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <algorithm>
#include <limits>

#include "store/store_error.h"

namespace sekds::store::sqlite {

namespace {

const char* primary_code_name(int rc) noexcept {
  switch (rc & 0xFF) {
    case SQLITE_ERROR: return "SQLITE_ERROR";
    case SQLITE_INTERNAL: return "SQLITE_INTERNAL";
    case SQLITE_PERM: return "SQLITE_PERM";
    case SQLITE_ABORT: return "SQLITE_ABORT";
    case SQLITE_BUSY: return "SQLITE_BUSY";
    case SQLITE_LOCKED: return "SQLITE_LOCKED";
    case SQLITE_NOMEM: return "SQLITE_NOMEM";
    case SQLITE_READONLY: return "SQLITE_READONLY";
    case SQLITE_INTERRUPT: return "SQLITE_INTERRUPT";
    case SQLITE_IOERR: return "SQLITE_IOERR";
    case SQLITE_CORRUPT: return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND: return "SQLITE_NOTFOUND";
    case SQLITE_FULL: return "SQLITE_FULL";
    case SQLITE_CANTOPEN: return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL: return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA: return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG: return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT: return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH: return "SQLITE_MISMATCH";
    case SQLITE_MISUSE: return "SQLITE_MISUSE";
    case SQLITE_NOLFS: return "SQLITE_NOLFS";
    case SQLITE_AUTH: return "SQLITE_AUTH";
    case SQLITE_RANGE: return "SQLITE_RANGE";
    case SQLITE_NOTADB: return "SQLITE_NOTADB";
    default: return "SQLITE_?";
  }
}

StoreErrc map_code(int rc) noexcept {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreErrc::Busy;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return StoreErrc::ReadOnly;
    case SQLITE_FULL:
      return StoreErrc::DiskFull;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return StoreErrc::Io;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreErrc::Corrupt;
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
          return StoreErrc::Conflict;
        default:
          return StoreErrc::Constraint;
      }
    default:
      return StoreErrc::Internal;
  }
}

}  // namespace

void throw_sqlite(sqlite3* db, int rc, std::string_view operation) {
  std::string msg(operation);
  msg += ": ";
  // The connection's message is the most specific (it names the constraint or table);
  // fall back to the generic text when the handle has none for this code.
  const char* detail = db != nullptr && (sqlite3_extended_errcode(db) & 0xFF) == (rc & 0xFF) ? sqlite3_errmsg(db)
                                                                                               : sqlite3_errstr(rc);
  msg += detail;
  msg += " (";
  msg += primary_code_name(rc);
  if (rc > 0xFF) msg += "/" + std::to_string(rc);
  msg += ")";
  throw StoreError(map_code(rc), msg);
}

// ---- Statement ----

Statement::Statement(Connection& conn, sqlite3_stmt* stmt, std::string_view operation, bool* in_use)
    : conn_(conn), stmt_(stmt), operation_(operation), in_use_(in_use) {
  if (in_use_ != nullptr) *in_use_ = true;
}

Statement::~Statement() {
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

Statement& Statement::bind(int i, std::int64_t v) {
  const int rc = sqlite3_bind_int64(stmt_, i, v);
  if (rc != SQLITE_OK) throw_sqlite(conn_.handle(), rc, operation_);
  return *this;
}

Statement& Statement::bind(int i, std::uint64_t v) {
  if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    throw StoreError(StoreErrc::InvalidArgument, std::string(operation_) + ": integer out of range");
  }
  return bind(i, static_cast<std::int64_t>(v));
}

Statement& Statement::bind(int i, std::string_view v) {
  const int rc = sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) throw_sqlite(conn_.handle(), rc, operation_);
  return *this;
}

Statement& Statement::bind_null(int i) {
  const int rc = sqlite3_bind_null(stmt_, i);
  if (rc != SQLITE_OK) throw_sqlite(conn_.handle(), rc, operation_);
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  throw_sqlite(conn_.handle(), rc, operation_);
}

void Statement::run() {
  while (step()) {
  }
}

std::int64_t Statement::changes() const { return sqlite3_changes64(conn_.handle()); }

bool Statement::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Statement::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  const int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
}

std::optional<std::string> Statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> Statement::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

// ---- Connection ----

Connection::Connection(const ConnectionOptions& o) : read_only_(o.read_only) {
  const int flags = (o.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  const int rc = sqlite3_open_v2(o.path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    // The path is named here only: this message goes to operators, never into a fault.
    std::string op = "open database " + o.path;
    try {
      throw_sqlite(db_, rc, op);
    } catch (...) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw;
    }
  }
  try {
    sqlite3_busy_timeout(db_, o.busy_timeout_ms);
    exec("PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF; PRAGMA synchronous = FULL;",
         "configure connection");
    if (!o.read_only) {
      // WAL: readers never block the writer; COMMIT = one fsync of the WAL with FULL.
      Statement wal = prepare("PRAGMA journal_mode = WAL", "enable WAL");
      if (!wal.step() || wal.text(0) != "wal") {
        throw StoreError(StoreErrc::Io, "enable WAL: the database refused journal_mode=WAL");
      }
    } else {
      // Reading the schema now turns "not a database" into an error at open instead of
      // at the first request (the WAL pragma does the same for writable connections).
      exec("SELECT count(*) FROM sqlite_schema", "read database header");
    }
    if (o.max_size_bytes) {
      Statement ps = prepare("PRAGMA page_size", "read page size");
      const std::int64_t page = ps.step() ? ps.int64(0) : 4096;
      const std::string pragma =
          "PRAGMA max_page_count = " + std::to_string(std::max<std::uint64_t>(1, *o.max_size_bytes / static_cast<std::uint64_t>(page)));
      exec(pragma.c_str(), "set size cap");
    }
  } catch (...) {
    for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
    cache_.clear();
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  sqlite3_close_v2(db_);
}

Statement Connection::prepare(const char* sql, std::string_view operation) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && !it->second.in_use) return Statement(*this, it->second.stmt, operation, &it->second.in_use);
  sqlite3_stmt* stmt = nullptr;
  const bool cache = it == cache_.end();
  const int rc = sqlite3_prepare_v3(db_, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, operation);
  if (cache) {
    auto& entry = cache_.emplace(sql, Cached{stmt, false}).first->second;
    return Statement(*this, stmt, operation, &entry.in_use);
  }
  // The cached copy is in use further up the stack (a nested query): a one-off copy.
  return Statement(*this, stmt, operation, nullptr);
}

Statement Connection::prepare_once(const std::string& sql, std::string_view operation) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, operation);
  return Statement(*this, stmt, operation, nullptr);
}

void Connection::exec(const char* sql, std::string_view operation) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK) throw_sqlite(db_, rc, operation);
}

// ---- transactions ----

WriteTransaction::WriteTransaction(Connection& conn, std::string_view operation)
    : conn_(conn), operation_(operation) {
  conn_.exec("BEGIN IMMEDIATE", operation_);
}

WriteTransaction::~WriteTransaction() {
  if (open_) sqlite3_exec(conn_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void WriteTransaction::commit() {
  const int rc = sqlite3_exec(conn_.handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) throw_sqlite(conn_.handle(), rc, operation_);  // the destructor rolls back
  open_ = false;
}

ReadTransaction::ReadTransaction(Connection& conn, std::string_view operation) : conn_(conn) {
  conn_.exec("BEGIN", operation);
}

ReadTransaction::~ReadTransaction() {
  if (sqlite3_exec(conn_.handle(), "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    sqlite3_exec(conn_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

// ---- pool ----

ConnectionPool::ConnectionPool(ConnectionOptions options, std::size_t max_idle)
    : options_(std::move(options)), max_idle_(max_idle) {}

ConnectionPool::Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

std::unique_ptr<Connection> ConnectionPool::open_connection() const { return std::make_unique<Connection>(options_); }

ConnectionPool::Lease ConnectionPool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(conn));
    }
  }
  return Lease(*this, open_connection());
}

void ConnectionPool::release(std::unique_ptr<Connection> conn) {
  // A connection left inside a transaction (a failed ROLLBACK) is not reused.
  if (sqlite3_get_autocommit(conn->handle()) == 0) return;
  std::lock_guard lock(mutex_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

}  // namespace sekds::store::sqlite
