// SqliteStore: the Store on one SQLite file (WAL, synchronous=FULL, foreign keys on).
//
// Threads share one SqliteStore; readers and admin writers take a connection from a
// small pool, audit appends and counter checks go through the group committer. Other
// processes (the admin CLI while the server runs) open the same file: SQLite's lock
// orders the writers and the audit chain head is read inside each write transaction, so
// the chain stays one chain. Nothing is cached between calls, so a change made by
// another process is seen by the next call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>

#include "store/group_commit.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/wal_checkpointer.h"

namespace sekds::store {

struct SqliteOptions {
  bool read_only = false;  // open without write access (every change fails ReadOnly)
  int busy_timeout_ms = 10000;  // how long a writer waits for another writer's lock
  CommitMode commit_mode = CommitMode::Group;  // others: the benchmark's naive baselines
  std::size_t max_batch = 512;  // jobs per group-commit transaction
  // Cap on the database size; beyond it writes fail with DiskFull (like a full disk).
  std::optional<std::uint64_t> max_size_bytes;
  // The migrations to apply; unset = the ones embedded from db/ (tests pass their own).
  std::optional<std::span<const Migration>> migrations;
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when allowed) the database and applies pending migrations in one
  // transaction. Throws StoreError: SchemaTooNew for a database newer than this build,
  // Corrupt for a file that is not a database, Io / ReadOnly when it cannot be opened.
  static std::unique_ptr<SqliteStore> open(const std::filesystem::path& path, const SqliteOptions& options = {});
  SqliteStore(const std::filesystem::path& path, const SqliteOptions& options);
  ~SqliteStore() override;

  // The schema version of this build (its newest migration) and of the open database.
  static int code_schema_version();
  int schema_version();
  GroupCommitStats group_commit_stats() const;
  // The background WAL checkpoints (all zero for a read-only store).
  WalCheckpointStats wal_checkpoint_stats() const;

  AuditId add_issuer(const AuditContext& who, const IssuerSpec& spec) override;
  std::optional<Issuer> find_issuer(std::string_view name) override;
  std::optional<Issuer> find_issuer_by_iin(std::string_view iin_hex) override;
  std::vector<Issuer> list_issuers() override;

  AuditId add_key_set(const AuditContext& who, const KeySetSpec& spec) override;
  AuditId set_key_set_state(const AuditContext& who, std::string_view issuer, std::uint8_t kvn,
                            KeySetState state) override;
  std::optional<KeySet> find_key_set(std::string_view issuer, std::uint8_t kvn) override;
  std::vector<KeySet> list_key_sets(const KeySetFilter& filter) override;

  AuditId accredit_tsm(const AuditContext& who, const TsmSpec& spec) override;
  AuditId revoke_tsm(const AuditContext& who, std::string_view name) override;
  std::optional<Tsm> find_tsm(std::string_view name) override;
  std::optional<Tsm> find_tsm_by_fingerprint(std::string_view cert_sha256_hex) override;
  std::vector<Tsm> list_tsms() override;

  AuditId grant(const AuditContext& who, std::string_view tsm, std::string_view issuer) override;
  AuditId ungrant(const AuditContext& who, std::string_view tsm, std::string_view issuer) override;
  bool is_entitled(std::string_view tsm, std::string_view issuer) override;
  std::vector<Entitlement> list_entitlements(std::optional<std::string_view> tsm) override;

  AuditId add_kek(const AuditContext& who, const KekSpec& spec) override;
  AuditId activate_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) override;
  AuditId retire_kek(const AuditContext& who, std::string_view tsm, std::uint32_t index) override;
  std::optional<Kek> find_kek(std::string_view tsm, std::uint32_t index) override;
  std::vector<Kek> list_keks(std::optional<std::string_view> tsm) override;

  CounterCheck check_and_record(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter) override;
  std::optional<CardCounter> find_counter(std::string_view issuer, gp::ByteView kdd) override;

  AppendResult append(const AuditRecord& record) override;
  ReleaseOutcome record_release(std::string_view issuer, gp::ByteView kdd, std::uint32_t counter, AuditRecord record,
                                const std::function<bool(const CounterCheck&, AuditRecord&)>& complete) override;
  std::optional<AuditEntry> find_release(std::string_view actor, std::string_view request_id,
                                         Timestamp not_before) override;
  std::optional<AuditEntry> find_audit(AuditId seq) override;
  std::vector<AuditEntry> list_audit(const AuditFilter& filter) override;
  ChainHead audit_head() override;
  VerifyReport verify_audit() override;
  void flush() override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sekds::store
