// Thin RAII layer over the SQLite C API for the store: one Connection (with its cache of
// prepared statements), Statement cursors, write transactions, a small connection pool,
// and the one place SQLite result codes become StoreErrc.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace sekds::store::sqlite {

struct ConnectionOptions {
  std::string path;
  bool read_only = false;
  int busy_timeout_ms = 10000;
  std::optional<std::uint64_t> max_size_bytes;  // a size cap: beyond it writes fail DiskFull
};

// Throws StoreError for `rc`, naming `operation` and SQLite's message.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view operation);

class Connection;

// A cached prepared statement in use. Reset (and bindings cleared) when destroyed, so the
// cache can hand it out again.
class Statement {
 public:
  // `in_use`: the cache entry's flag, or nullptr for a one-off statement (finalised).
  Statement(Connection& conn, sqlite3_stmt* stmt, std::string_view operation, bool* in_use);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based, as in SQL "?NNN".
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view v);
  Statement& bind_null(int i);
  template <class T>
  Statement& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    return bind_null(i);
  }
  Statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, unsigned v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::uint8_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Statement& bind(int i, std::uint64_t v);

  // true: a row is available; false: done.
  bool step();
  // Runs a statement that returns no row.
  void run();
  // Rows changed by the last run().
  std::int64_t changes() const;

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  Connection& conn_;
  sqlite3_stmt* stmt_;
  std::string_view operation_;
  bool* in_use_;
};

class Connection {
 public:
  explicit Connection(const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // A statement from the cache (prepared once per connection). `sql` must outlive the
  // connection: pass string literals.
  Statement prepare(const char* sql, std::string_view operation);
  // A statement built at run time (not cached; finalised after use).
  Statement prepare_once(const std::string& sql, std::string_view operation);
  // Runs SQL text (several statements allowed) without caching.
  void exec(const char* sql, std::string_view operation);
  sqlite3* handle() const noexcept { return db_; }
  bool read_only() const noexcept { return read_only_; }

 private:
  sqlite3* db_ = nullptr;
  bool read_only_ = false;
  struct Cached {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::unordered_map<const char*, Cached> cache_;
};

// BEGIN IMMEDIATE (take the write lock now, waiting up to the busy timeout) ... COMMIT;
// rolls back when destroyed uncommitted.
class WriteTransaction {
 public:
  WriteTransaction(Connection& conn, std::string_view operation);
  ~WriteTransaction();
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;
  void commit();

 private:
  Connection& conn_;
  std::string_view operation_;
  bool open_ = true;
};

// BEGIN (deferred) for a consistent snapshot over several reads; ended when destroyed.
class ReadTransaction {
 public:
  ReadTransaction(Connection& conn, std::string_view operation);
  ~ReadTransaction();
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Connection& conn_;
};

// Connections for concurrent readers and admin writers: one per thread at a time, kept
// for reuse (at most `max_idle`).
class ConnectionPool {
 public:
  explicit ConnectionPool(ConnectionOptions options, std::size_t max_idle = 16);

  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    ~Lease();
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Lease acquire();
  std::unique_ptr<Connection> open_connection() const;
  const ConnectionOptions& options() const { return options_; }

 private:
  void release(std::unique_ptr<Connection> conn);

  ConnectionOptions options_;
  std::size_t max_idle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace sekds::store::sqlite
