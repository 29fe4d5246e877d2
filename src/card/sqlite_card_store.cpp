#include "card/sqlite_card_store.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gp/cplc.h"
#include "process/secret_file.h"

namespace sekds::card {

namespace {

// 1: the first schema; 2: card.management_level (a card from version 1 gets 01, C-MAC).
constexpr int kSchemaVersion = 2;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS card (
  slot          INTEGER PRIMARY KEY,
  kdd           BLOB NOT NULL UNIQUE,
  ic_serial     BLOB NOT NULL UNIQUE,
  cplc          BLOB NOT NULL,
  iin           BLOB NOT NULL,
  cin           BLOB NOT NULL,
  url           TEXT NOT NULL,
  scp           INTEGER NOT NULL,
  i             INTEGER NOT NULL,
  isd_lifecycle INTEGER NOT NULL,
  default_kvn   INTEGER NOT NULL,
  management_level INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS key_set (
  slot     INTEGER NOT NULL REFERENCES card(slot) ON DELETE CASCADE,
  kvn      INTEGER NOT NULL,
  key_type TEXT NOT NULL,
  enc      BLOB NOT NULL,
  mac      BLOB NOT NULL,
  dek      BLOB NOT NULL,
  counter  INTEGER NOT NULL,
  PRIMARY KEY (slot, kvn)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS load_file (
  slot      INTEGER NOT NULL REFERENCES card(slot) ON DELETE CASCADE,
  seq       INTEGER NOT NULL,
  aid       BLOB NOT NULL,
  lifecycle INTEGER NOT NULL,
  version   BLOB NOT NULL,
  modules   BLOB NOT NULL,
  size      INTEGER NOT NULL,
  PRIMARY KEY (slot, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS application (
  slot          INTEGER NOT NULL REFERENCES card(slot) ON DELETE CASCADE,
  seq           INTEGER NOT NULL,
  aid           BLOB NOT NULL,
  load_file_aid BLOB NOT NULL,
  module_aid    BLOB NOT NULL,
  privileges    BLOB NOT NULL,
  lifecycle     INTEGER NOT NULL,
  PRIMARY KEY (slot, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS store_data (
  slot INTEGER NOT NULL REFERENCES card(slot) ON DELETE CASCADE,
  seq  INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (slot, seq)
) WITHOUT ROWID;
)sql";

constexpr const char* kMigration2 = "ALTER TABLE card ADD COLUMN management_level INTEGER NOT NULL DEFAULT 1";

// The file holds the cards' static keys: a copy readable by other users is a copy of the keys.
void refuse_shared(const std::string& file, const struct stat& st) {
  if (const std::string problem = process::private_file_problem(st, file); !problem.empty())
    throw CardStoreError("card store " + file + problem);
}

// The database file, created 0600 whatever the umask, or an existing one checked through the
// same descriptor (no check-then-open race).
void open_private(const std::string& path) {
  bool created = true;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) {
    created = false;
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) throw CardStoreError("card store: cannot open or create " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // A umask such as 0277 would otherwise leave it 0400, which SQLite cannot write.
  if (created && ::fchmod(fd, 0600) != 0)
    throw CardStoreError("card store: cannot chmod 600 " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw CardStoreError("card store " + path + ": " + std::strerror(errno));
  refuse_shared(path, st);
}

// SQLite's -wal and -shm files. SQLite gives new ones the database file's mode, but reuses
// existing ones (left by a crash, or made by another tool) as they are.
void check_side_files(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      throw CardStoreError("card store " + file + ": " + std::strerror(errno));
    }
    refuse_shared(file, st);
  }
}

Bytes modules_blob(const std::vector<Bytes>& modules) {
  Bytes out;
  for (const auto& m : modules) {
    out.push_back(static_cast<std::uint8_t>(m.size()));
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

std::vector<Bytes> modules_from_blob(ByteView b) {
  std::vector<Bytes> out;
  std::size_t pos = 0;
  while (pos < b.size()) {
    const std::size_t n = b[pos];
    if (n > b.size() - pos - 1) throw CardStoreError("card store: corrupt module list");
    out.emplace_back(b.begin() + static_cast<std::ptrdiff_t>(pos + 1), b.begin() + static_cast<std::ptrdiff_t>(pos + 1 + n));
    pos += 1 + n;
  }
  return out;
}

}  // namespace

// A prepared statement borrowed from the cache: bound, stepped, reset on destruction.
class SqliteCardStore::Stmt {
 public:
  Stmt(SqliteCardStore& store, const char* sql) : store_(store), s_(store.prepare(sql)) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) {
    check(sqlite3_bind_int64(s_, i, v));
    return *this;
  }
  Stmt& bind(int i, ByteView v) {
    // Zero-length blobs must still be non-NULL (the columns are NOT NULL).
    static const std::uint8_t empty = 0;
    check(sqlite3_bind_blob(s_, i, v.empty() ? &empty : v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store_.fail("step");
  }
  void run() {
    if (step()) store_.fail("statement returned a row");
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  Bytes blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
    return p == nullptr ? Bytes{} : Bytes(p, p + sqlite3_column_bytes(s_, col));
  }
  gp::SecureBytes secure_blob(int col) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
    return p == nullptr ? gp::SecureBytes{} : gp::SecureBytes(p, p + sqlite3_column_bytes(s_, col));
  }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return p == nullptr ? std::string{} : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) store_.fail("bind");
  }
  SqliteCardStore& store_;
  sqlite3_stmt* s_;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back if commit() was not reached.
class SqliteCardStore::Transaction {
 public:
  explicit Transaction(SqliteCardStore& store) : store_(store) { store_.exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(store_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    store_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteCardStore& store_;
  bool done_ = false;
};

SqliteCardStore::SqliteCardStore(const std::string& path) : path_(path) {
  // Create the file 0600 ourselves (SQLite would use 0644 and the umask): it holds key material.
  open_private(path);
  check_side_files(path);
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw CardStoreError("card store: cannot open " + path + ": " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, 5000);  // personalise may append while a server runs
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    int version = 0;
    {
      Stmt s(*this, "PRAGMA user_version");
      if (s.step()) version = static_cast<int>(s.integer(0));
    }
    if (version > kSchemaVersion)
      throw CardStoreError("card store: " + path + " has schema version " + std::to_string(version) +
                           ", newer than this program (" + std::to_string(kSchemaVersion) + ")");
    if (version < kSchemaVersion) {
      Transaction t(*this);
      {
        // Read again under the write lock: another process may have migrated meanwhile.
        Stmt s(*this, "PRAGMA user_version");
        version = s.step() ? static_cast<int>(s.integer(0)) : 0;
      }
      if (version == 0) exec(kSchema);
      if (version == 1) exec(kMigration2);
      if (version < kSchemaVersion) exec("PRAGMA user_version = 2");
      t.commit();
    }
    // The WAL mode above made them (with the database's mode): check what SQLite now uses.
    check_side_files(path);
  } catch (...) {
    close();
    throw;
  }
}

SqliteCardStore::~SqliteCardStore() { close(); }

void SqliteCardStore::close() noexcept {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  statements_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

void SqliteCardStore::fail(const std::string& what) const {
  throw CardStoreError("card store " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

sqlite3_stmt* SqliteCardStore::prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) fail(std::string("prepare ") + sql);
  statements_.emplace(sql, s);
  return s;
}

void SqliteCardStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw CardStoreError("card store " + path_ + ": " + msg);
  }
}

std::vector<CardState> SqliteCardStore::load_all() {
  std::lock_guard lock(m_);
  std::vector<CardState> cards;
  std::unordered_map<std::int64_t, std::size_t> index;
  {
    Stmt s(*this,
           "SELECT slot, kdd, cplc, iin, cin, url, scp, i, isd_lifecycle, default_kvn, management_level FROM card "
           "ORDER BY slot");
    while (s.step()) {
      CardState c;
      c.slot = static_cast<int>(s.integer(0));
      c.identity.kdd = s.blob(1);
      c.identity.cplc = s.blob(2);
      c.identity.iin = s.blob(3);
      c.identity.cin = s.blob(4);
      c.identity.url = s.text(5);
      const auto scp = s.integer(6);
      if (scp != 2 && scp != 3) throw CardStoreError("card store: slot " + std::to_string(c.slot) + " has SCP " + std::to_string(scp));
      c.identity.scp = static_cast<gp::Scp>(scp);
      c.identity.i = static_cast<std::uint8_t>(s.integer(7));
      c.isd_lifecycle = static_cast<std::uint8_t>(s.integer(8));
      c.default_kvn = static_cast<std::uint8_t>(s.integer(9));
      const auto level = s.integer(10);
      if (level < 0 || level > 0xFF || !gp::SecurityLevel::valid(static_cast<std::uint8_t>(level)))
        throw CardStoreError("card store: slot " + std::to_string(c.slot) + " has management level " + std::to_string(level) +
                             ", which is not a security level");
      c.identity.management_level = gp::SecurityLevel(static_cast<std::uint8_t>(level));
      index[c.slot] = cards.size();
      cards.push_back(std::move(c));
    }
  }
  auto card = [&](std::int64_t slot) -> CardState& {
    auto it = index.find(slot);
    if (it == index.end()) throw CardStoreError("card store: orphan row for slot " + std::to_string(slot));
    return cards[it->second];
  };
  {
    Stmt s(*this, "SELECT slot, kvn, key_type, enc, mac, dek, counter FROM key_set ORDER BY slot, kvn");
    while (s.step()) {
      KeySet ks;
      ks.kvn = static_cast<std::uint8_t>(s.integer(1));
      const auto type = gp::parse_key_type(s.text(2));
      if (!type) throw CardStoreError("card store: unknown key type " + s.text(2));
      ks.type = *type;
      ks.keys = {s.secure_blob(3), s.secure_blob(4), s.secure_blob(5)};
      ks.counter = static_cast<std::uint32_t>(s.integer(6));
      card(s.integer(0)).key_sets[ks.kvn] = std::move(ks);
    }
  }
  {
    Stmt s(*this, "SELECT slot, aid, lifecycle, version, modules, size FROM load_file ORDER BY slot, seq");
    while (s.step()) {
      LoadFile f;
      f.aid = s.blob(1);
      f.lifecycle = static_cast<std::uint8_t>(s.integer(2));
      f.version = s.blob(3);
      f.modules = modules_from_blob(s.blob(4));
      f.size = static_cast<std::uint32_t>(s.integer(5));
      card(s.integer(0)).registry.load_files.push_back(std::move(f));
    }
  }
  {
    Stmt s(*this,
           "SELECT slot, aid, load_file_aid, module_aid, privileges, lifecycle FROM application ORDER BY slot, seq");
    while (s.step()) {
      Application a;
      a.aid = s.blob(1);
      a.load_file_aid = s.blob(2);
      a.module_aid = s.blob(3);
      a.privileges = s.blob(4);
      a.lifecycle = static_cast<std::uint8_t>(s.integer(5));
      card(s.integer(0)).registry.applications.push_back(std::move(a));
    }
  }
  {
    Stmt s(*this, "SELECT slot, data FROM store_data ORDER BY slot, seq");
    while (s.step()) card(s.integer(0)).store_data.push_back(s.blob(1));
  }
  return cards;
}

void SqliteCardStore::add_cards(std::vector<CardState>& cards) {
  std::lock_guard lock(m_);
  Transaction t(*this);
  {
    std::int64_t next = 1;
    {
      Stmt s(*this, "SELECT COALESCE(MAX(slot), 0) + 1 FROM card");
      if (s.step()) next = s.integer(0);
    }
    for (auto& c : cards) {
      c.slot = static_cast<int>(next++);
      const gp::Cplc cplc = gp::Cplc::parse(c.identity.cplc);
      Stmt s(*this,
             "INSERT INTO card (slot, kdd, ic_serial, cplc, iin, cin, url, scp, i, isd_lifecycle, default_kvn, "
             "management_level) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      s.bind(1, c.slot)
          .bind(2, c.identity.kdd)
          .bind(3, cplc.field(gp::CplcField::IcSerialNumber))
          .bind(4, c.identity.cplc)
          .bind(5, c.identity.iin)
          .bind(6, c.identity.cin)
          .bind(7, c.identity.url)
          .bind(8, static_cast<std::int64_t>(c.identity.scp))
          .bind(9, c.identity.i)
          .bind(10, c.isd_lifecycle)
          .bind(11, c.default_kvn)
          .bind(12, c.identity.management_level.byte());
      s.run();
      write_key_sets(c.slot, c.key_sets, c.default_kvn);
      write_registry(c.slot, c.registry);
    }
  }
  t.commit();
}

void SqliteCardStore::save_counter(int slot, std::uint8_t kvn, std::uint32_t counter) {
  std::lock_guard lock(m_);
  Stmt s(*this, "UPDATE key_set SET counter = ? WHERE slot = ? AND kvn = ?");
  s.bind(1, counter).bind(2, slot).bind(3, kvn);
  s.run();
  if (sqlite3_changes(db_) != 1)
    throw CardStoreError("card store: no key set " + std::to_string(kvn) + " in slot " + std::to_string(slot));
}

void SqliteCardStore::write_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) {
  {
    Stmt s(*this, "DELETE FROM key_set WHERE slot = ?");
    s.bind(1, slot);
    s.run();
  }
  for (const auto& [kvn, ks] : key_sets) {
    Stmt s(*this, "INSERT INTO key_set (slot, kvn, key_type, enc, mac, dek, counter) VALUES (?, ?, ?, ?, ?, ?, ?)");
    const std::string type = gp::key_type_name(ks.type);
    s.bind(1, slot).bind(2, kvn).bind(3, type).bind(4, gp::view(ks.keys.enc)).bind(5, gp::view(ks.keys.mac));
    s.bind(6, gp::view(ks.keys.dek)).bind(7, ks.counter);
    s.run();
  }
  Stmt s(*this, "UPDATE card SET default_kvn = ? WHERE slot = ?");
  s.bind(1, default_kvn).bind(2, slot);
  s.run();
  if (sqlite3_changes(db_) != 1) throw CardStoreError("card store: no card in slot " + std::to_string(slot));
}

void SqliteCardStore::save_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) {
  std::lock_guard lock(m_);
  Transaction t(*this);
  write_key_sets(slot, key_sets, default_kvn);
  t.commit();
}

void SqliteCardStore::write_registry(int slot, const Registry& registry) {
  {
    Stmt s(*this, "DELETE FROM load_file WHERE slot = ?");
    s.bind(1, slot);
    s.run();
  }
  {
    Stmt s(*this, "DELETE FROM application WHERE slot = ?");
    s.bind(1, slot);
    s.run();
  }
  std::int64_t seq = 0;
  for (const auto& f : registry.load_files) {
    Stmt s(*this, "INSERT INTO load_file (slot, seq, aid, lifecycle, version, modules, size) VALUES (?, ?, ?, ?, ?, ?, ?)");
    const Bytes modules = modules_blob(f.modules);
    s.bind(1, slot).bind(2, seq++).bind(3, f.aid).bind(4, f.lifecycle).bind(5, f.version).bind(6, modules).bind(7, f.size);
    s.run();
  }
  seq = 0;
  for (const auto& a : registry.applications) {
    Stmt s(*this,
           "INSERT INTO application (slot, seq, aid, load_file_aid, module_aid, privileges, lifecycle) "
           "VALUES (?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, slot).bind(2, seq++).bind(3, a.aid).bind(4, a.load_file_aid).bind(5, a.module_aid);
    s.bind(6, a.privileges).bind(7, a.lifecycle);
    s.run();
  }
}

void SqliteCardStore::save_registry(int slot, const Registry& registry) {
  std::lock_guard lock(m_);
  Transaction t(*this);
  write_registry(slot, registry);
  t.commit();
}

void SqliteCardStore::append_store_data(int slot, ByteView record) {
  std::lock_guard lock(m_);
  Stmt s(*this,
         "INSERT INTO store_data (slot, seq, data) "
         "VALUES (?1, (SELECT COALESCE(MAX(seq), -1) + 1 FROM store_data WHERE slot = ?1), ?2)");
  s.bind(1, slot).bind(2, record);
  s.run();
}

bool SqliteCardStore::ic_serial_exists(ByteView serial) {
  std::lock_guard lock(m_);
  Stmt s(*this, "SELECT 1 FROM card WHERE ic_serial = ?");
  s.bind(1, serial);
  return s.step();
}

bool SqliteCardStore::kdd_exists(ByteView kdd) {
  std::lock_guard lock(m_);
  Stmt s(*this, "SELECT 1 FROM card WHERE kdd = ?");
  s.bind(1, kdd);
  return s.step();
}

}  // namespace sekds::card
