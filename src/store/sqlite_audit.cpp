// SqliteStore: audit appends (group commit), per-card counters, audit queries.
#include <functional>
#include <variant>

#include "store/audit_hash.h"
#include "store/sqlite_store.h"
#include "store/sqlite_store_impl.h"

namespace sekds::store {

namespace {

ChainHead read_head(sqlite::Connection& c) {
  auto st = c.prepare("SELECT seq, hash FROM audit_head WHERE id = 1", "read audit chain head");
  if (!st.step()) throw StoreError(StoreErrc::Corrupt, "read audit chain head: the audit_head row is missing");
  return ChainHead{static_cast<AuditId>(st.int64(0)), st.text(1)};
}

class AppendJob final : public CommitJob {
 public:
  AppendJob(const AuditRecord& record, const std::string& detail) : record_(record), detail_(detail) {}
  void apply(sqlite::Connection& conn, BatchState& batch) override {
    result = SqliteStore::Impl::insert_audit(conn, batch, record_, detail_);
  }
  AppendResult result;

 private:
  const AuditRecord& record_;
  const std::string& detail_;
};

// The id of the issuer a counter belongs to, read inside the batch's transaction. An unknown
// issuer is reported to the caller after the batch (not thrown here: that would roll back
// every other writer's job of the batch).
std::optional<std::int64_t> counter_issuer(sqlite::Connection& c, const std::string& issuer) {
  auto st = c.prepare("SELECT id FROM issuers WHERE name = ?1", "find issuer of sequence counter");
  st.bind(1, issuer);
  if (!st.step()) return std::nullopt;
  return st.int64(0);
}

// Compares `counter` with the last one recorded for this card of this issuer.
CounterCheck check_counter(sqlite::Connection& c, std::int64_t issuer_id, const std::string& kdd, std::uint32_t counter) {
  CounterCheck result;
  auto st = c.prepare("SELECT last FROM card_counters WHERE issuer_id = ?1 AND kdd = ?2", "check sequence counter");
  st.bind(1, issuer_id).bind(2, kdd);
  if (st.step()) result.previous = static_cast<std::uint32_t>(st.int64(0));
  if (result.previous) {
    if (counter == *result.previous) result.anomaly = CounterAnomaly::Repeated;
    if (counter < *result.previous) result.anomaly = CounterAnomaly::Backwards;
  }
  return result;
}

void write_counter(sqlite::Connection& c, std::int64_t issuer_id, const std::string& kdd, std::uint32_t counter,
                   const CounterCheck& check) {
  auto st = c.prepare(
      "INSERT INTO card_counters (issuer_id, kdd, last, highest, anomalies, updated) VALUES (?1, ?2, ?3, ?3, ?4, ?5)"
      " ON CONFLICT (issuer_id, kdd) DO UPDATE SET last = excluded.last, highest = max(highest, excluded.last),"
      " anomalies = anomalies + excluded.anomalies, updated = excluded.updated",
      "record sequence counter");
  st.bind(1, issuer_id)
      .bind(2, kdd)
      .bind(3, static_cast<std::int64_t>(counter))
      .bind(4, check.anomaly == CounterAnomaly::None ? 0 : 1)
      .bind(5, format_timestamp(now_utc()))
      .run();
}

[[noreturn]] void unknown_counter_issuer(const std::string& issuer) {
  not_found("issuer " + in_quotes(issuer) + " (of a sequence counter)");
}

class CounterJob final : public CommitJob {
 public:
  CounterJob(std::string issuer, std::string kdd, std::uint32_t counter)
      : issuer_(std::move(issuer)), kdd_(std::move(kdd)), counter_(counter) {}
  void apply(sqlite::Connection& c, BatchState&) override {
    unknown_issuer = false;
    const auto id = counter_issuer(c, issuer_);
    if (!id) {
      unknown_issuer = true;
      return;
    }
    result = check_counter(c, *id, kdd_, counter_);
    write_counter(c, *id, kdd_, counter_, result);
  }
  CounterCheck result;
  bool unknown_issuer = false;

 private:
  std::string issuer_;
  std::string kdd_;
  std::uint32_t counter_;
};

// The counter and the release record in the batch's transaction (Store::record_release).
class ReleaseJob final : public CommitJob {
 public:
  using Complete = std::function<bool(const CounterCheck&, AuditRecord&)>;
  ReleaseJob(std::string issuer, std::string kdd, std::uint32_t counter, AuditRecord record, const Complete& complete)
      : issuer_(std::move(issuer)), kdd_(std::move(kdd)), counter_(counter), record_(std::move(record)),
        complete_(complete) {}
  void apply(sqlite::Connection& c, BatchState& batch) override {
    // The job may be retried in a new batch after a rollback: start from the caller's record.
    result = {};
    unknown_issuer = false;
    AuditRecord record = record_;
    const auto id = counter_issuer(c, issuer_);
    if (!id) {
      unknown_issuer = true;
      return;
    }
    result.counter = check_counter(c, *id, kdd_, counter_);
    // Refused: nothing written, so the card's counter stays where the last release left it.
    if (!complete_(result.counter, record)) return;
    const std::string detail = validate::audit_record(record);
    write_counter(c, *id, kdd_, counter_, result.counter);
    result.appended = SqliteStore::Impl::insert_audit(c, batch, record, detail);
  }
  Store::ReleaseOutcome result;
  bool unknown_issuer = false;

 private:
  std::string issuer_;
  std::string kdd_;
  std::uint32_t counter_;
  AuditRecord record_;
  const Complete& complete_;
};

#define SEKDS_AUDIT_COLUMNS \
  "seq, time, actor, operation, kdd, issuer, kvn, kek_index, result, request_id, detail, prev_hash, hash"
#define SEKDS_AUDIT_SELECT "SELECT " SEKDS_AUDIT_COLUMNS " FROM audit "

AuditEntry read_entry(const sqlite::Statement& st) {
  AuditEntry e;
  e.seq = static_cast<AuditId>(st.int64(0));
  const std::string where = "audit record " + std::to_string(e.seq);
  e.time = column_time(st, 1, where + " time");
  e.actor = st.text(2);
  e.operation = st.text(3);
  if (!st.is_null(4)) e.kdd = column_hex(st, 4, where + " KDD");
  e.issuer = st.opt_text(5);
  if (auto kvn = st.opt_int64(6)) {
    if (*kvn < 0 || *kvn > 255) throw StoreError(StoreErrc::Corrupt, where + ": KVN out of range");
    e.kvn = static_cast<std::uint8_t>(*kvn);
  }
  if (auto idx = st.opt_int64(7)) {
    if (*idx < 0 || *idx > 0xFFFFFFFFLL) throw StoreError(StoreErrc::Corrupt, where + ": KEK index out of range");
    e.kek_index = static_cast<std::uint32_t>(*idx);
  }
  e.result = st.text(8);
  e.request_id = st.opt_text(9);
  e.detail = st.text(10);
  e.prev_hash = st.text(11);
  e.hash = st.text(12);
  return e;
}

}  // namespace

// ---- appending ----

AppendResult SqliteStore::Impl::insert_audit(sqlite::Connection& c, BatchState& batch, const AuditRecord& r,
                                            const std::string& detail) {
  if (!batch.head) batch.head = read_head(c);
  const Timestamp now = now_utc();
  if (r.idempotency_window && r.request_id && r.result == kResultOk) {
    auto st = c.prepare(
        "SELECT seq FROM audit WHERE actor = ?1 AND request_id = ?2 AND operation = ?3 AND result = 'OK'"
        " AND time >= ?4 ORDER BY seq DESC LIMIT 1",
        "audit idempotency check");
    st.bind(1, r.actor).bind(2, *r.request_id).bind(3, r.operation).bind(4, format_timestamp(now - *r.idempotency_window));
    if (st.step()) return AppendResult{static_cast<AuditId>(st.int64(0)), true};
  }
  AuditEntry e;
  e.seq = batch.head->seq + 1;
  e.time = r.time.value_or(now);
  e.actor = r.actor;
  e.operation = r.operation;
  e.kdd = r.kdd;
  e.issuer = r.issuer;
  e.kvn = r.kvn;
  e.kek_index = r.kek_index;
  e.result = r.result;
  e.request_id = r.request_id;
  e.detail = detail;
  e.prev_hash = batch.head->hash;
  e.hash = audit_hash(e);
  auto st = c.prepare("INSERT INTO audit (" SEKDS_AUDIT_COLUMNS
                      ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                      "append audit record");
  st.bind(1, e.seq)
      .bind(2, format_timestamp(e.time))
      .bind(3, e.actor)
      .bind(4, e.operation)
      .bind(5, e.kdd ? std::optional<std::string>(gp::to_hex(gp::view(*e.kdd))) : std::nullopt)
      .bind(6, e.issuer)
      .bind(7, e.kvn)
      .bind(8, e.kek_index ? std::optional<std::int64_t>(*e.kek_index) : std::nullopt)
      .bind(9, e.result)
      .bind(10, e.request_id)
      .bind(11, e.detail)
      .bind(12, e.prev_hash)
      .bind(13, e.hash)
      .run();
  batch.head = ChainHead{e.seq, e.hash};
  batch.head_moved = true;
  return AppendResult{e.seq, false};
}

void SqliteStore::Impl::finish_batch(sqlite::Connection& c, BatchState& batch) {
  if (!batch.head_moved) return;
  auto st = c.prepare("UPDATE audit_head SET seq = ?1, hash = ?2 WHERE id = 1", "move audit chain head");
  st.bind(1, static_cast<std::int64_t>(batch.head->seq)).bind(2, batch.head->hash).run();
  if (st.changes() != 1) throw StoreError(StoreErrc::Corrupt, "move audit chain head: the audit_head row is missing");
}

AppendResult SqliteStore::Impl::append(const AuditRecord& record) {
  const std::string detail = validate::audit_record(record);
  AppendJob job(record, detail);
  committer.submit(job);
  return job.result;
}

AppendResult SqliteStore::append(const AuditRecord& record) { return impl_->append(record); }

Store::ReleaseOutcome SqliteStore::record_release(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter,
                                                  AuditRecord record,
                                                  const std::function<bool(const CounterCheck&, AuditRecord&)>& complete) {
  validate::name("issuer name", issuer);
  validate::kdd(kdd);
  (void)validate::audit_record(record);  // a bad record fails here, not inside the batch
  ReleaseJob job(std::string(issuer), gp::to_hex(kdd), counter, std::move(record), complete);
  impl_->committer.submit(job);
  if (job.unknown_issuer) unknown_counter_issuer(std::string(issuer));
  return job.result;
}

// ---- counters ----

CounterCheck SqliteStore::check_and_record(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter) {
  validate::name("issuer name", issuer);
  validate::kdd(kdd);
  CounterJob job(std::string(issuer), gp::to_hex(kdd), counter);
  impl_->committer.submit(job);
  if (job.unknown_issuer) unknown_counter_issuer(std::string(issuer));
  return job.result;
}

std::optional<CardCounter> SqliteStore::find_counter(std::string_view issuer, gp::ByteView kdd) {
  validate::name("issuer name", issuer);
  validate::kdd(kdd);
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(
      "SELECT c.last, c.highest, c.anomalies, c.updated FROM card_counters c JOIN issuers i ON i.id = c.issuer_id"
      " WHERE i.name = ?1 AND c.kdd = ?2",
      "find sequence counter");
  st.bind(1, issuer).bind(2, gp::to_hex(kdd));
  if (!st.step()) return std::nullopt;
  return CardCounter{std::string(issuer), gp::to_bytes(kdd), static_cast<std::uint32_t>(st.int64(0)),
                     static_cast<std::uint32_t>(st.int64(1)), static_cast<std::uint64_t>(st.int64(2)),
                     column_time(st, 3, "counter updated")};
}

// ---- queries ----

std::optional<AuditEntry> SqliteStore::find_release(std::string_view actor, std::string_view request_id,
                                                    Timestamp not_before) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_AUDIT_SELECT
                          "WHERE actor = ?1 AND request_id = ?2 AND operation = ?3 AND result = 'OK' AND time >= ?4"
                          " ORDER BY seq DESC LIMIT 1",
                          "find release by request id");
  st.bind(1, actor).bind(2, request_id).bind(3, kOpKeyRelease).bind(4, format_timestamp(not_before));
  if (!st.step()) return std::nullopt;
  return read_entry(st);
}

std::optional<AuditEntry> SqliteStore::find_audit(AuditId seq) {
  auto conn = impl_->pool.acquire();
  auto st = conn->prepare(SEKDS_AUDIT_SELECT "WHERE seq = ?1", "find audit record");
  st.bind(1, seq);
  if (!st.step()) return std::nullopt;
  return read_entry(st);
}

std::vector<AuditEntry> SqliteStore::list_audit(const AuditFilter& f) {
  if (f.limit < 1 || f.limit > 10000) {
    throw StoreError(StoreErrc::InvalidArgument, "audit list limit must be 1..10000");
  }
  std::string sql = SEKDS_AUDIT_SELECT "WHERE 1 = 1";
  std::vector<std::variant<std::int64_t, std::string>> params;
  auto where = [&](const char* cond, std::variant<std::int64_t, std::string> v) {
    params.push_back(std::move(v));
    sql += " AND ";
    sql += cond;
    sql += " ?" + std::to_string(params.size());
  };
  if (f.since) where("time >=", format_timestamp(*f.since));
  if (f.until) where("time <", format_timestamp(*f.until));
  if (f.actor) where("actor =", *f.actor);
  if (f.kdd) where("kdd =", gp::to_hex(gp::view(*f.kdd)));
  if (f.operation) where("operation =", *f.operation);
  if (f.result) where("result =", *f.result);
  if (f.after_seq) where("seq >", static_cast<std::int64_t>(*f.after_seq));
  sql += f.newest_first ? " ORDER BY seq DESC" : " ORDER BY seq ASC";
  sql += " LIMIT " + std::to_string(f.limit);

  auto conn = impl_->pool.acquire();
  auto st = conn->prepare_once(sql, "list audit");
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int n = static_cast<int>(i + 1);
    std::visit([&](const auto& v) { st.bind(n, v); }, params[i]);
  }
  std::vector<AuditEntry> out;
  while (st.step()) out.push_back(read_entry(st));
  return out;
}

ChainHead SqliteStore::audit_head() {
  auto conn = impl_->pool.acquire();
  return read_head(*conn);
}

// ---- verification ----

namespace {

VerifyReport broken(VerifyReport r, AuditId seq, AuditBreak kind, std::string reason) {
  r.ok = false;
  r.first_bad = seq;
  r.kind = kind;
  r.reason = "audit record " + std::to_string(seq) + ": " + std::move(reason);
  return r;
}

}  // namespace

VerifyReport SqliteStore::verify_audit() {
  auto conn = impl_->pool.acquire();
  sqlite::ReadTransaction snapshot(*conn, "verify audit");  // head and rows from one snapshot
  VerifyReport report;
  report.head = read_head(*conn);
  auto st = conn->prepare(SEKDS_AUDIT_SELECT "ORDER BY seq", "verify audit");
  AuditId expected = 1;
  std::string prev_hash = genesis_hash();
  while (st.step()) {
    const std::int64_t seq = st.int64(0);
    if (seq < 1) return broken(report, expected, AuditBreak::Malformed, "a record has seq " + std::to_string(seq));
    const auto useq = static_cast<AuditId>(seq);
    if (useq != expected) {
      return broken(report, expected, AuditBreak::Missing,
                    "missing (deleted): the next record is " + std::to_string(useq));
    }
    if (useq > report.head.seq) {
      return broken(report, useq, AuditBreak::HeadMismatch,
                    "lies beyond the recorded chain head " + std::to_string(report.head.seq) +
                        " (added outside sekds)");
    }
    AuditText text;
    for (int i = 0; i < 12; ++i) text[static_cast<std::size_t>(i)] = st.opt_text(i);
    const std::optional<std::string> stored_hash = st.opt_text(12);
    for (std::size_t i : std::array<std::size_t, 7>{0, 1, 2, 3, 8, 10, 11}) {
      if (!text[i]) return broken(report, useq, AuditBreak::Malformed, "a required field is NULL");
    }
    if (!stored_hash) return broken(report, useq, AuditBreak::Malformed, "its hash is NULL");
    if (audit_hash(text) != *stored_hash) {
      return broken(report, useq, AuditBreak::ContentMismatch,
                    "content does not match its hash (edited, or moved from another position)");
    }
    if (*text[11] != prev_hash) {
      return broken(report, useq, AuditBreak::LinkMismatch,
                    "prev_hash is not the hash of record " + std::to_string(useq - 1) +
                        " (a record was inserted or replaced before it)");
    }
    prev_hash = *stored_hash;
    ++report.records;
    ++expected;
  }
  const AuditId last = expected - 1;
  if (last < report.head.seq) {
    return broken(report, last + 1, AuditBreak::HeadMismatch,
                  "missing: the chain head is record " + std::to_string(report.head.seq) +
                      " but the log ends at " + std::to_string(last) + " (tail deleted)");
  }
  if (last > 0 && prev_hash != report.head.hash) {
    report.records = last - 1;
    return broken(report, last, AuditBreak::HeadMismatch, "its hash is not the recorded chain head hash");
  }
  return report;
}

const char* audit_break_name(AuditBreak b) noexcept {
  switch (b) {
    case AuditBreak::None: return "None";
    case AuditBreak::ContentMismatch: return "ContentMismatch";
    case AuditBreak::LinkMismatch: return "LinkMismatch";
    case AuditBreak::Missing: return "Missing";
    case AuditBreak::HeadMismatch: return "HeadMismatch";
    case AuditBreak::Malformed: return "Malformed";
  }
  return "?";
}

#undef SEKDS_AUDIT_SELECT
#undef SEKDS_AUDIT_COLUMNS

}  // namespace sekds::store
