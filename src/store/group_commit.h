// Group commit: many writers, one transaction, one fsync.
//
// Leader/follower: a writer queues its job and waits. When no commit is running, one
// waiting writer becomes the leader: it takes the queued jobs (up to max_batch), runs
// them in one write transaction (BEGIN IMMEDIATE ... COMMIT) on the committer's own
// connection and wakes everyone. Jobs that arrive during that commit form the next batch,
// so the batch grows with the load and an idle system commits one job at once, without
// waiting for a timer. Every job of a batch succeeds or fails together: if any step or
// the COMMIT fails, the transaction is rolled back and every writer of the batch gets
// the error. Writers return only when their job is durable (or failed).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "store/audit.h"
#include "store/sqlite_db.h"

namespace sekds::store {

// State shared by the jobs of one batch transaction.
struct BatchState {
  std::optional<ChainHead> head;  // the audit chain head, read on first use in the transaction
  bool head_moved = false;        // records were appended: write the head before COMMIT
};

// One unit of work for the batch transaction.
class CommitJob {
 public:
  virtual ~CommitJob() = default;
  // Runs inside the batch's write transaction. `batch` is shared by the jobs of the
  // batch (for state such as the audit chain head). Throws StoreError on failure.
  virtual void apply(sqlite::Connection& conn, BatchState& batch) = 0;

 private:
  friend class GroupCommitter;
  bool done_ = false;
  std::exception_ptr error_;
};

// How audit appends and counter checks reach the disk.
enum class CommitMode {
  Group,      // group commit (the default): one transaction, one fsync, for many writers
  PerAppend,  // naive: each writer its own transaction on its own connection; SQLite's
              // lock (and its busy-handler sleeps) orders them
  PerAppendSerialized,  // naive, but writers queue on an in-process mutex instead of
                        // SQLite's lock: exactly one transaction and fsync per append
};
const char* commit_mode_name(CommitMode m) noexcept;  // "group", "per-append", "per-append-serialized"

struct GroupCommitStats {
  std::uint64_t batches = 0;      // committed transactions
  std::uint64_t jobs = 0;         // committed jobs
  std::uint64_t failed_batches = 0;
  std::uint64_t largest_batch = 0;
};

class GroupCommitter {
 public:
  using OpenConnection = std::function<std::unique_ptr<sqlite::Connection>()>;
  // Called in the transaction after the batch's jobs, before COMMIT.
  using FinishBatch = std::function<void(sqlite::Connection&, BatchState&)>;

  // Modes other than Group are the naive baselines the benchmark compares against.
  GroupCommitter(OpenConnection open, FinishBatch finish, std::size_t max_batch, CommitMode mode);
  ~GroupCommitter();

  // Runs `job` in a batch; returns when it is durable, or rethrows its batch's error.
  void submit(CommitJob& job);
  // Waits until no job is queued or committing.
  void flush();
  GroupCommitStats stats() const;

 private:
  void commit(const std::vector<CommitJob*>& batch, sqlite::Connection& conn);
  void run_alone(CommitJob& job);

  OpenConnection open_;
  FinishBatch finish_;
  std::size_t max_batch_;
  CommitMode mode_;
  std::mutex solo_mutex_;  // PerAppendSerialized: one transaction at a time

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CommitJob*> queue_;
  bool leader_active_ = false;
  std::unique_ptr<sqlite::Connection> conn_;  // used by the leader only
  std::vector<std::unique_ptr<sqlite::Connection>> solo_idle_;  // connections of the naive mode
  GroupCommitStats stats_;
};

}  // namespace sekds::store
