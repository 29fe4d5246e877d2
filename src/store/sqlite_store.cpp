// SqliteStore: opening, migrations, issuers and key sets.
#include "store/sqlite_store.h"

#include "gp/error.h"
#include "store/file_mode.h"
#include "store/migrate.h"
#include "store/sqlite_store_impl.h"

namespace sekds::store {

// ---- shared helpers ----

Timestamp column_time(const sqlite::Statement& st, int col, std::string_view what) {
  const std::string text = st.text(col);
  if (auto t = parse_timestamp(text)) return *t;
  throw StoreError(StoreErrc::Corrupt, "stored " + std::string(what) + " '" + text + "' is not a timestamp");
}

std::optional<Timestamp> column_opt_time(const sqlite::Statement& st, int col, std::string_view what) {
  if (st.is_null(col)) return std::nullopt;
  return column_time(st, col, what);
}

gp::Bytes column_hex(const sqlite::Statement& st, int col, std::string_view what) {
  try {
    return gp::from_hex(st.text(col), what);
  } catch (const gp::GpError& e) {
    throw StoreError(StoreErrc::Corrupt, std::string("stored ") + e.what());
  }
}

std::optional<std::string> opt_time_text(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return format_timestamp(*t);
}

// ---- open ----

SqliteStore::Impl::Impl(const std::filesystem::path& path, const SqliteOptions& o)
    : options(o),
      pool(sqlite::ConnectionOptions{path.string(), o.read_only, o.busy_timeout_ms, o.max_size_bytes}),
      checkpointer(o.read_only ? nullptr : std::make_unique<WalCheckpointer>(pool.options())),
      committer(
          [this] {
            auto c = pool.open_connection();
            if (checkpointer) checkpointer->attach(*c);  // release commits never run a checkpoint
            return c;
          },
          &Impl::finish_batch, o.max_batch, o.commit_mode) {}

namespace {

// The files' modes are settled before the first connection: SQLite would create the database
// with the umask's mode, and its -wal and -shm after it.
std::unique_ptr<SqliteStore::Impl> make_impl(const std::filesystem::path& path, const SqliteOptions& options) {
  prepare_database_files(path, !options.read_only);
  return std::make_unique<SqliteStore::Impl>(path, options);
}

}  // namespace

SqliteStore::SqliteStore(const std::filesystem::path& path, const SqliteOptions& options)
    : impl_(make_impl(path, options)) {
  auto conn = impl_->pool.acquire();
  apply_migrations(*conn, options.migrations ? *options.migrations : embedded_migrations());
}

std::unique_ptr<SqliteStore> SqliteStore::open(const std::filesystem::path& path, const SqliteOptions& options) {
  return std::make_unique<SqliteStore>(path, options);
}

SqliteStore::~SqliteStore() { impl_->committer.flush(); }

int SqliteStore::code_schema_version() { return static_cast<int>(embedded_migrations().size()); }

int SqliteStore::schema_version() {
  auto conn = impl_->pool.acquire();
  return read_schema_version(*conn);
}

GroupCommitStats SqliteStore::group_commit_stats() const { return impl_->committer.stats(); }

WalCheckpointStats SqliteStore::wal_checkpoint_stats() const {
  return impl_->checkpointer ? impl_->checkpointer->stats() : WalCheckpointStats{};
}

void SqliteStore::flush() { impl_->committer.flush(); }

// ---- issuers ----

namespace {

#define SEKDS_ISSUER_SELECT "SELECT id, name, iin, created FROM issuers "

Issuer read_issuer(const sqlite::Statement& st) {
  return Issuer{st.int64(0), st.text(1), st.text(2), column_time(st, 3, "issuer created")};
}

std::optional<std::int64_t> issuer_id(sqlite::Connection& c, std::string_view name) {
  auto st = c.prepare("SELECT id FROM issuers WHERE name = ?1", "find issuer");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return st.int64(0);
}

std::int64_t require_issuer(sqlite::Connection& c, std::string_view name) {
  if (auto id = issuer_id(c, name)) return *id;
  not_found("issuer " + in_quotes(name));
}

}  // namespace

AuditId SqliteStore::add_issuer(const AuditContext& who, const IssuerSpec& spec) {
  AuditRecord rec;
  rec.operation = "issuer.add";
  rec.issuer = spec.name;
  rec.detail["iin"] = spec.iin;
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord& r) {
    validate::name("issuer name", spec.name);
    const std::string iin = validate::iin(spec.iin);
    r.detail["iin"] = iin;
    if (issuer_id(c, spec.name)) throw StoreError(StoreErrc::Conflict, "issuer " + in_quotes(spec.name) + " already exists");
    {
      auto st = c.prepare("SELECT name FROM issuers WHERE iin = ?1", "add issuer");
      st.bind(1, iin);
      if (st.step()) {
        throw StoreError(StoreErrc::Conflict, "IIN " + iin + " already belongs to issuer " + in_quotes(st.text(0)));
      }
    }
    auto st = c.prepare("INSERT INTO issuers (name, iin, created) VALUES (?1, ?2, ?3)", "add issuer");
    st.bind(1, spec.name).bind(2, iin).bind(3, format_timestamp(now_utc())).run();
  });
}

std::optional<Issuer> SqliteStore::find_issuer(std::string_view name) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_ISSUER_SELECT "WHERE name = ?1", "find issuer");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_issuer(st);
}

std::optional<Issuer> SqliteStore::find_issuer_by_iin(std::string_view iin_hex) {
  const std::string iin = validate::iin(iin_hex);
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_ISSUER_SELECT "WHERE iin = ?1", "find issuer by IIN");
  st.bind(1, iin);
  if (!st.step()) return std::nullopt;
  return read_issuer(st);
}

std::vector<Issuer> SqliteStore::list_issuers() {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_ISSUER_SELECT "ORDER BY name", "list issuers");
  std::vector<Issuer> out;
  while (st.step()) out.push_back(read_issuer(st));
  return out;
}

#undef SEKDS_ISSUER_SELECT

// ---- key sets ----

namespace {

#define SEKDS_KEY_SET_SELECT                                                                                    \
  "SELECT k.id, k.issuer_id, i.name, k.kvn, k.scp, k.scp_i, k.key_type, k.method, k.kdf_layout,"               \
  " k.kdf_constants, k.hsm_label_enc, k.hsm_label_mac, k.hsm_label_dek, k.kcv_enc, k.kcv_mac, k.kcv_dek,"      \
  " k.kcv_alg, k.state, k.created FROM key_sets k JOIN issuers i ON i.id = k.issuer_id "

std::optional<gp::KeyType> parse_type(std::string_view s) noexcept { return gp::parse_key_type(s); }
std::optional<gp::DiversificationMethod> parse_method(std::string_view s) noexcept { return gp::parse_method(s); }

KeySet read_key_set(const sqlite::Statement& st) {
  KeySet k;
  k.id = st.int64(0);
  k.issuer_id = st.int64(1);
  k.spec.issuer = st.text(2);
  k.spec.kvn = static_cast<std::uint8_t>(st.int64(3));
  k.spec.scp = static_cast<std::uint8_t>(st.int64(4));
  k.spec.scp_i = static_cast<std::uint8_t>(st.int64(5));
  k.spec.key_type = column_enum(st, 6, parse_type, "key type");
  k.spec.method = column_enum(st, 7, parse_method, "diversification method");
  k.spec.kdf_layout = st.text(8);
  k.spec.kdf_constants = st.text(9);
  k.spec.hsm_labels = {st.text(10), st.text(11), st.text(12)};
  k.spec.kcvs = {column_hex(st, 13, "KCV (ENC)"), column_hex(st, 14, "KCV (MAC)"), column_hex(st, 15, "KCV (DEK)")};
  k.spec.kcv_alg = column_enum(st, 16, validate::parse_kcv_alg, "KCV convention");
  k.state = column_enum(st, 17, parse_key_set_state, "key set state");
  k.created = column_time(st, 18, "key set created");
  return k;
}

nlohmann::json key_set_detail(const KeySetSpec& s) {
  return {{"scp", s.scp},
          {"scp_i", s.scp_i},
          {"key_type", gp::key_type_name(s.key_type)},
          {"method", gp::method_name(s.method)},
          {"kdf_layout", s.kdf_layout},
          {"kdf_constants", s.kdf_constants},
          {"hsm_labels", {{"enc", s.hsm_labels.enc}, {"mac", s.hsm_labels.mac}, {"dek", s.hsm_labels.dek}}},
          {"kcv_alg", gp::kcv_alg_name(s.kcv_alg)},
          {"kcvs",
           {{"enc", gp::to_hex(gp::view(s.kcvs.enc))},
            {"mac", gp::to_hex(gp::view(s.kcvs.mac))},
            {"dek", gp::to_hex(gp::view(s.kcvs.dek))}}}};
}

}  // namespace

AuditId SqliteStore::add_key_set(const AuditContext& who, const KeySetSpec& spec) {
  AuditRecord rec;
  rec.operation = "keyset.add";
  rec.issuer = spec.issuer;
  rec.kvn = spec.kvn;
  rec.detail = key_set_detail(spec);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord& r) {
    const KeySetSpec s = validate::key_set(spec);
    r.detail = key_set_detail(s);
    const std::int64_t issuer = require_issuer(c, s.issuer);
    {
      auto st = c.prepare("SELECT 1 FROM key_sets WHERE issuer_id = ?1 AND kvn = ?2", "add key set");
      st.bind(1, issuer).bind(2, s.kvn);
      if (st.step()) {
        throw StoreError(StoreErrc::Conflict, "issuer " + in_quotes(s.issuer) + " already has key set version " +
                                                  std::to_string(s.kvn));
      }
    }
    auto st = c.prepare(
        "INSERT INTO key_sets (issuer_id, kvn, scp, scp_i, key_type, method, kdf_layout, kdf_constants,"
        " hsm_label_enc, hsm_label_mac, hsm_label_dek, kcv_enc, kcv_mac, kcv_dek, kcv_alg, state, created)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'active', ?16)",
        "add key set");
    st.bind(1, issuer)
        .bind(2, s.kvn)
        .bind(3, s.scp)
        .bind(4, s.scp_i)
        .bind(5, gp::key_type_name(s.key_type))
        .bind(6, gp::method_name(s.method))
        .bind(7, s.kdf_layout)
        .bind(8, s.kdf_constants)
        .bind(9, s.hsm_labels.enc)
        .bind(10, s.hsm_labels.mac)
        .bind(11, s.hsm_labels.dek)
        .bind(12, gp::to_hex(gp::view(s.kcvs.enc)))
        .bind(13, gp::to_hex(gp::view(s.kcvs.mac)))
        .bind(14, gp::to_hex(gp::view(s.kcvs.dek)))
        .bind(15, gp::kcv_alg_name(s.kcv_alg))
        .bind(16, format_timestamp(now_utc()))
        .run();
  });
}

AuditId SqliteStore::set_key_set_state(const AuditContext& who, std::string_view issuer, std::uint8_t kvn,
                                       KeySetState state) {
  AuditRecord rec;
  rec.operation = "keyset.state";
  rec.issuer = std::string(issuer);
  rec.kvn = kvn;
  rec.detail["state"] = key_set_state_name(state);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord& r) {
    const std::int64_t issuer_row = require_issuer(c, issuer);
    auto find = c.prepare("SELECT id, state FROM key_sets WHERE issuer_id = ?1 AND kvn = ?2", "set key set state");
    find.bind(1, issuer_row).bind(2, kvn);
    if (!find.step()) not_found("key set version " + std::to_string(kvn) + " of issuer " + in_quotes(issuer));
    r.detail["previous"] = find.text(1);
    auto st = c.prepare("UPDATE key_sets SET state = ?2 WHERE id = ?1", "set key set state");
    st.bind(1, find.int64(0)).bind(2, key_set_state_name(state)).run();
  });
}

std::optional<KeySet> SqliteStore::find_key_set(std::string_view issuer, std::uint8_t kvn) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_KEY_SET_SELECT "WHERE i.name = ?1 AND k.kvn = ?2", "find key set");
  st.bind(1, issuer).bind(2, kvn);
  if (!st.step()) return std::nullopt;
  return read_key_set(st);
}

std::vector<KeySet> SqliteStore::list_key_sets(const KeySetFilter& f) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_KEY_SET_SELECT
                          "WHERE (?1 IS NULL OR i.name = ?1) AND (?2 IS NULL OR k.kvn = ?2)"
                          " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM entitlements e JOIN tsms t ON t.id = e.tsm_id"
                          "                          WHERE e.issuer_id = k.issuer_id AND t.name = ?3))"
                          " AND (?4 = 0 OR k.state = 'active')"
                          " ORDER BY i.name, k.kvn",
                          "list key sets");
  st.bind(1, f.issuer).bind(2, f.kvn).bind(3, f.entitled_tsm).bind(4, f.active_only ? 1 : 0);
  std::vector<KeySet> out;
  while (st.step()) out.push_back(read_key_set(st));
  return out;
}

#undef SEKDS_KEY_SET_SELECT

}  // namespace sekds::store
