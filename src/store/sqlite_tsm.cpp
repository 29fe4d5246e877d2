// SqliteStore: TSMs, entitlements and KEKs.
#include "store/sqlite_store.h"
#include "store/sqlite_store_impl.h"

namespace sekds::store {

namespace {

#define SEKDS_TSM_SELECT "SELECT id, name, cert_sha256, subject, state, created, revoked FROM tsms "

Tsm read_tsm(const sqlite::Statement& st) {
  Tsm t;
  t.id = st.int64(0);
  t.name = st.text(1);
  t.cert_sha256 = st.text(2);
  t.subject = st.text(3);
  t.state = column_enum(st, 4, parse_tsm_state, "TSM state");
  t.created = column_time(st, 5, "TSM created");
  t.revoked = column_opt_time(st, 6, "TSM revoked");
  return t;
}

struct TsmRow {
  std::int64_t id;
  TsmState state;
};

std::optional<TsmRow> tsm_row(sqlite::Connection& c, std::string_view name) {
  auto st = c.prepare("SELECT id, state FROM tsms WHERE name = ?1", "find TSM");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return TsmRow{st.int64(0), column_enum(st, 1, parse_tsm_state, "TSM state")};
}

TsmRow require_tsm(sqlite::Connection& c, std::string_view name) {
  if (auto t = tsm_row(c, name)) return *t;
  not_found("TSM " + in_quotes(name));
}

std::int64_t require_issuer_id(sqlite::Connection& c, std::string_view name) {
  auto st = c.prepare("SELECT id FROM issuers WHERE name = ?1", "find issuer");
  st.bind(1, name);
  if (!st.step()) not_found("issuer " + in_quotes(name));
  return st.int64(0);
}

}  // namespace

// ---- TSMs ----

AuditId SqliteStore::accredit_tsm(const AuditContext& who, const TsmSpec& spec) {
  AuditRecord rec;
  rec.operation = "tsm.accredit";
  rec.detail = {{"tsm", spec.name}, {"cert_sha256", spec.cert_sha256}, {"subject", spec.subject}};
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord& r) {
    validate::name("TSM name", spec.name);
    const std::string fp = validate::fingerprint(spec.cert_sha256);
    if (spec.subject.size() > 1024 || spec.subject.find('\0') != std::string::npos) {
      throw StoreError(StoreErrc::InvalidArgument, "certificate subject longer than 1024 bytes or with a NUL");
    }
    r.detail["cert_sha256"] = fp;
    if (tsm_row(c, spec.name)) throw StoreError(StoreErrc::Conflict, "TSM " + in_quotes(spec.name) + " already exists");
    {
      auto st = c.prepare("SELECT name FROM tsms WHERE cert_sha256 = ?1", "accredit TSM");
      st.bind(1, fp);
      if (st.step()) {
        throw StoreError(StoreErrc::Conflict, "certificate " + fp + " already belongs to TSM " + in_quotes(st.text(0)));
      }
    }
    auto st = c.prepare(
        "INSERT INTO tsms (name, cert_sha256, subject, state, created) VALUES (?1, ?2, ?3, 'accredited', ?4)",
        "accredit TSM");
    st.bind(1, spec.name).bind(2, fp).bind(3, spec.subject).bind(4, format_timestamp(now_utc())).run();
  });
}

AuditId SqliteStore::revoke_tsm(const AuditContext& who, std::string_view name) {
  AuditRecord rec;
  rec.operation = "tsm.revoke";
  rec.detail["tsm"] = std::string(name);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord&) {
    const TsmRow t = require_tsm(c, name);
    if (t.state == TsmState::Revoked) {
      throw StoreError(StoreErrc::IllegalTransition, "TSM " + in_quotes(name) + " is already revoked");
    }
    auto st = c.prepare("UPDATE tsms SET state = 'revoked', revoked = ?2 WHERE id = ?1", "revoke TSM");
    st.bind(1, t.id).bind(2, format_timestamp(now_utc())).run();
  });
}

std::optional<Tsm> SqliteStore::find_tsm(std::string_view name) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_TSM_SELECT "WHERE name = ?1", "find TSM");
  st.bind(1, name);
  if (!st.step()) return std::nullopt;
  return read_tsm(st);
}

std::optional<Tsm> SqliteStore::find_tsm_by_fingerprint(std::string_view cert_sha256_hex) {
  const std::string fp = validate::fingerprint(cert_sha256_hex);
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_TSM_SELECT "WHERE cert_sha256 = ?1", "find TSM by certificate");
  st.bind(1, fp);
  if (!st.step()) return std::nullopt;
  return read_tsm(st);
}

std::vector<Tsm> SqliteStore::list_tsms() {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_TSM_SELECT "ORDER BY name", "list TSMs");
  std::vector<Tsm> out;
  while (st.step()) out.push_back(read_tsm(st));
  return out;
}

#undef SEKDS_TSM_SELECT

// ---- entitlements ----

AuditId SqliteStore::grant(const AuditContext& who, std::string_view tsm, std::string_view issuer) {
  AuditRecord rec;
  rec.operation = "tsm.grant";
  rec.issuer = std::string(issuer);
  rec.detail["tsm"] = std::string(tsm);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord&) {
    const TsmRow t = require_tsm(c, tsm);
    const std::int64_t i = require_issuer_id(c, issuer);
    {
      auto st = c.prepare("SELECT 1 FROM entitlements WHERE tsm_id = ?1 AND issuer_id = ?2", "grant");
      st.bind(1, t.id).bind(2, i);
      if (st.step()) {
        throw StoreError(StoreErrc::Conflict, "TSM " + in_quotes(tsm) + " is already entitled to issuer " + in_quotes(issuer));
      }
    }
    auto st = c.prepare("INSERT INTO entitlements (tsm_id, issuer_id, created) VALUES (?1, ?2, ?3)", "grant");
    st.bind(1, t.id).bind(2, i).bind(3, format_timestamp(now_utc())).run();
  });
}

AuditId SqliteStore::ungrant(const AuditContext& who, std::string_view tsm, std::string_view issuer) {
  AuditRecord rec;
  rec.operation = "tsm.ungrant";
  rec.issuer = std::string(issuer);
  rec.detail["tsm"] = std::string(tsm);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord&) {
    const TsmRow t = require_tsm(c, tsm);
    const std::int64_t i = require_issuer_id(c, issuer);
    auto st = c.prepare("DELETE FROM entitlements WHERE tsm_id = ?1 AND issuer_id = ?2", "ungrant");
    st.bind(1, t.id).bind(2, i).run();
    if (st.changes() == 0) not_found("entitlement of TSM " + in_quotes(tsm) + " to issuer " + in_quotes(issuer));
  });
}

bool SqliteStore::is_entitled(std::string_view tsm, std::string_view issuer) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(
      "SELECT 1 FROM entitlements e JOIN tsms t ON t.id = e.tsm_id JOIN issuers i ON i.id = e.issuer_id"
      " WHERE t.name = ?1 AND i.name = ?2",
      "check entitlement");
  st.bind(1, tsm).bind(2, issuer);
  return st.step();
}

std::vector<Entitlement> SqliteStore::list_entitlements(std::optional<std::string_view> tsm) {
  auto conn = impl_->pool.acquire();
  if (tsm && !tsm_row(*conn, *tsm)) not_found("TSM " + in_quotes(*tsm));
  auto st = conn->prepare(
      "SELECT t.name, i.name, e.created FROM entitlements e JOIN tsms t ON t.id = e.tsm_id"
      " JOIN issuers i ON i.id = e.issuer_id WHERE (?1 IS NULL OR t.name = ?1) ORDER BY t.name, i.name",
      "list entitlements");
  st.bind(1, tsm);
  std::vector<Entitlement> out;
  while (st.step()) out.push_back({st.text(0), st.text(1), column_time(st, 2, "entitlement created")});
  return out;
}

// ---- KEKs ----

namespace {

#define SEKDS_KEK_SELECT                                                                                 \
  "SELECT k.id, k.tsm_id, t.name, k.kek_index, k.algorithm, k.kcv, k.state, k.valid_from, k.valid_until," \
  " k.hsm_label, k.created, k.activated, k.retired FROM keks k JOIN tsms t ON t.id = k.tsm_id "

std::optional<gp::KeyType> parse_type(std::string_view s) noexcept { return gp::parse_key_type(s); }

Kek read_kek(const sqlite::Statement& st) {
  Kek k;
  k.id = st.int64(0);
  k.tsm_id = st.int64(1);
  k.spec.tsm = st.text(2);
  k.spec.index = static_cast<std::uint32_t>(st.int64(3));
  k.spec.algorithm = column_enum(st, 4, parse_type, "KEK algorithm");
  k.spec.kcv = column_hex(st, 5, "KEK KCV");
  k.state = column_enum(st, 6, parse_kek_state, "KEK state");
  k.spec.valid_from = column_opt_time(st, 7, "KEK valid_from");
  k.spec.valid_until = column_opt_time(st, 8, "KEK valid_until");
  k.spec.hsm_label = st.text(9);
  k.created = column_time(st, 10, "KEK created");
  k.activated = column_opt_time(st, 11, "KEK activated");
  k.retired = column_opt_time(st, 12, "KEK retired");
  return k;
}

// Moves one KEK along pending -> active -> retired; `update_sql` sets the state of row ?1
// and its time column to ?2 (now).
template <class Impl>
AuditId kek_transition(Impl& impl, const AuditContext& who, std::string_view tsm, std::uint32_t index, KekState to,
                       const char* operation, const char* update_sql) {
  AuditRecord rec;
  rec.operation = operation;
  rec.kek_index = index;
  rec.detail["tsm"] = std::string(tsm);
  rec.detail["state"] = kek_state_name(to);
  return impl.admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord& r) {
    const TsmRow t = require_tsm(c, tsm);
    auto find = c.prepare("SELECT id, state FROM keks WHERE tsm_id = ?1 AND kek_index = ?2", "find KEK");
    find.bind(1, t.id).bind(2, static_cast<std::int64_t>(index));
    if (!find.step()) not_found("KEK index " + std::to_string(index) + " of TSM " + in_quotes(tsm));
    const KekState from = column_enum(find, 1, parse_kek_state, "KEK state");
    r.detail["previous"] = kek_state_name(from);
    if (!kek_transition_allowed(from, to)) {
      throw StoreError(StoreErrc::IllegalTransition, "KEK index " + std::to_string(index) + " of TSM " + in_quotes(tsm) +
                                                         " is " + kek_state_name(from) + ", cannot become " +
                                                         kek_state_name(to) + " (pending -> active -> retired)");
    }
    auto st = c.prepare(update_sql, operation);
    st.bind(1, find.int64(0)).bind(2, format_timestamp(now_utc())).run();
  });
}

}  // namespace

AuditId SqliteStore::add_kek(const AuditContext& who, const KekSpec& spec) {
  AuditRecord rec;
  rec.operation = "kek.add";
  rec.kek_index = spec.index;
  rec.detail = {{"tsm", spec.tsm},
                {"algorithm", gp::key_type_name(spec.algorithm)},
                {"kcv", gp::to_hex(gp::view(spec.kcv))},
                {"kcv_alg", gp::kcv_alg_name(gp::KcvAlg::AesGp)},
                {"hsm_label", spec.hsm_label}};
  if (spec.valid_from) rec.detail["valid_from"] = format_timestamp(*spec.valid_from);
  if (spec.valid_until) rec.detail["valid_until"] = format_timestamp(*spec.valid_until);
  return impl_->admin_change(who, std::move(rec), [&](sqlite::Connection& c, AuditRecord&) {
    validate::kek(spec);
    const TsmRow t = require_tsm(c, spec.tsm);
    if (t.state == TsmState::Revoked) {
      throw StoreError(StoreErrc::Constraint, "TSM " + in_quotes(spec.tsm) + " is revoked: no new KEKs");
    }
    {
      auto st = c.prepare("SELECT 1 FROM keks WHERE tsm_id = ?1 AND kek_index = ?2", "add KEK");
      st.bind(1, t.id).bind(2, static_cast<std::int64_t>(spec.index));
      if (st.step()) {
        throw StoreError(StoreErrc::Conflict, "TSM " + in_quotes(spec.tsm) + " already has KEK index " +
                                                  std::to_string(spec.index));
      }
    }
    auto st = c.prepare(
        "INSERT INTO keks (tsm_id, kek_index, algorithm, kcv, state, valid_from, valid_until, hsm_label, created)"
        " VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6, ?7, ?8)",
        "add KEK");
    st.bind(1, t.id)
        .bind(2, static_cast<std::int64_t>(spec.index))
        .bind(3, gp::key_type_name(spec.algorithm))
        .bind(4, gp::to_hex(gp::view(spec.kcv)))
        .bind(5, opt_time_text(spec.valid_from))
        .bind(6, opt_time_text(spec.valid_until))
        .bind(7, spec.hsm_label)
        .bind(8, format_timestamp(now_utc()))
        .run();
  });
}

AuditId SqliteStore::activate_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) {
  return kek_transition(*impl_, who, tsm, index, KekState::Active, "kek.activate",
                        "UPDATE keks SET state = 'active', activated = ?2 WHERE id = ?1");
}

AuditId SqliteStore::retire_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) {
  return kek_transition(*impl_, who, tsm, index, KekState::Retired, "kek.retire",
                        "UPDATE keks SET state = 'retired', retired = ?2 WHERE id = ?1");
}

std::optional<Kek> SqliteStore::find_kek(std::string_view tsm, std::uint32_t index) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_KEK_SELECT "WHERE t.name = ?1 AND k.kek_index = ?2", "find KEK");
  st.bind(1, tsm).bind(2, static_cast<std::int64_t>(index));
  if (!st.step()) return std::nullopt;
  return read_kek(st);
}

std::vector<Kek> SqliteStore::list_keks(std::optional<std::string_view> tsm) {
  auto conn = impl_->pool.acquire();
  if (tsm && !tsm_row(*conn, *tsm)) not_found("TSM " + in_quotes(*tsm));
  auto st = conn->prepare(SEKDS_KEK_SELECT "WHERE (?1 IS NULL OR t.name = ?1) ORDER BY t.name, k.kek_index",
                          "list KEKs");
  st.bind(1, tsm);
  std::vector<Kek> out;
  while (st.step()) out.push_back(read_kek(st));
  return out;
}

#undef SEKDS_KEK_SELECT

}  // namespace sekds::store
