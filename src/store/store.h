// The persistence interface of sekds (DESIGN §5). SqliteStore implements it for one
// host; a PostgreSQL implementation can fill it for several server replicas.
//
// Contract for every implementation:
// - Thread-safe: one Store object serves all worker threads of a process; other
//   processes (the admin CLI) may use the same database at the same time.
// - No stale reads: every call sees every change committed before it started, by any
//   process (nothing is cached across calls).
// - Every change is atomic: an admin change and its audit record commit together or not
//   at all. A refused admin change (Conflict, NotFound, ...) is itself audited with the
//   error name as result, then thrown.
// - Failures are StoreError with a StoreErrc name; nothing half-written.
// - Writes are durable when the call returns.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/audit.h"
#include "store/store_error.h"
#include "store/types.h"

namespace sekds::store {

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Issuers. Admin changes return the AuditId of the record that audits them.
  virtual AuditId add_issuer(const AuditContext& who, const IssuerSpec& spec) = 0;
  virtual std::optional<Issuer> find_issuer(std::string_view name) = 0;
  virtual std::optional<Issuer> find_issuer_by_iin(std::string_view iin_hex) = 0;
  virtual std::vector<Issuer> list_issuers() = 0;

  // Key sets: unique (issuer, kvn).
  virtual AuditId add_key_set(const AuditContext& who, const KeySetSpec& spec) = 0;
  virtual AuditId set_key_set_state(const AuditContext& who, std::string_view issuer, std::uint8_t kvn,
                                    KeySetState state) = 0;
  virtual std::optional<KeySet> find_key_set(std::string_view issuer, std::uint8_t kvn) = 0;
  virtual std::vector<KeySet> list_key_sets(const KeySetFilter& filter) = 0;

  // TSMs: unique name and certificate fingerprint. accredited -> revoked only.
  virtual AuditId accredit_tsm(const AuditContext& who, const TsmSpec& spec) = 0;
  virtual AuditId revoke_tsm(const AuditContext& who, std::string_view name) = 0;
  virtual std::optional<Tsm> find_tsm(std::string_view name) = 0;
  virtual std::optional<Tsm> find_tsm_by_fingerprint(std::string_view cert_sha256_hex) = 0;
  virtual std::vector<Tsm> list_tsms() = 0;

  // Entitlements: TSM x issuer. grant of an existing pair is Conflict, ungrant of a
  // missing one NotFound.
  virtual AuditId grant(const AuditContext& who, std::string_view tsm, std::string_view issuer) = 0;
  virtual AuditId ungrant(const AuditContext& who, std::string_view tsm, std::string_view issuer) = 0;
  virtual bool is_entitled(std::string_view tsm, std::string_view issuer) = 0;
  // All pairs, or those of one TSM.
  virtual std::vector<Entitlement> list_entitlements(std::optional<std::string_view> tsm) = 0;

  // KEKs: unique (TSM, index); created pending; pending -> active -> retired only.
  virtual AuditId add_kek(const AuditContext& who, const KekSpec& spec) = 0;
  virtual AuditId activate_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) = 0;
  virtual AuditId retire_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) = 0;
  virtual std::optional<Kek> find_kek(std::string_view tsm, std::uint32_t index) = 0;
  // All KEKs, or those of one TSM; ordered by TSM then index.
  virtual std::vector<Kek> list_keks(std::optional<std::string_view> tsm) = 0;

  // Per-card sequence counter, per (issuer, KDD): compares `counter` with the last value
  // recorded for this card of this issuer and records it (even when anomalous: a release
  // that went through), atomically across threads and processes. NotFound for an unknown
  // issuer.
  virtual CounterCheck check_and_record(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter) = 0;
  virtual std::optional<CardCounter> find_counter(std::string_view issuer, gp::ByteView kdd) = 0;

  // Audit. append() returns once the record is durable (group commit).
  virtual AppendResult append(const AuditRecord& record) = 0;

  // A key release: the card's counter (of this issuer) checked and, with the release record,
  // written in ONE transaction — both durable, or neither (a release that could not be audited
  // leaves no counter behind to make the TSM's retry look like a replay) — and one commit
  // instead of two. `complete` runs inside the transaction with the counter check: it adds the
  // counter details to the record, and returns false to refuse the release. A refused release
  // writes nothing (appended is empty): only a release moves a card's counter, so a refused
  // request cannot push it to FFFFFF and lock the card out. NotFound for an unknown issuer.
  struct ReleaseOutcome {
    CounterCheck counter;
    std::optional<AppendResult> appended;
  };
  virtual ReleaseOutcome record_release(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter,
                                        AuditRecord record,
                                        const std::function<bool(const CounterCheck&, AuditRecord&)>& complete) = 0;
  // The latest OK release (operation kOpKeyRelease) of (actor, request id) at or after
  // not_before: lets the service answer a retry with the same AuditId.
  virtual std::optional<AuditEntry> find_release(std::string_view actor, std::string_view request_id,
                                                 Timestamp not_before) = 0;
  virtual std::optional<AuditEntry> find_audit(AuditId seq) = 0;
  virtual std::vector<AuditEntry> list_audit(const AuditFilter& filter) = 0;
  virtual ChainHead audit_head() = 0;
  // Walks the whole chain; names the first bad record.
  virtual VerifyReport verify_audit() = 0;

  // Waits until everything handed over so far is durable (call on shutdown).
  virtual void flush() = 0;
};

}  // namespace sekds::store
