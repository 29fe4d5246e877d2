#include "store/group_commit.h"

#include <sqlite3.h>

#include <algorithm>

#include "store/store_error.h"

namespace sekds::store {

const char* commit_mode_name(CommitMode m) noexcept {
  switch (m) {
    case CommitMode::Group: return "group";
    case CommitMode::PerAppend: return "per-append";
    case CommitMode::PerAppendSerialized: return "per-append-serialized";
  }
  return "?";
}

GroupCommitter::GroupCommitter(OpenConnection open, FinishBatch finish, std::size_t max_batch, CommitMode mode)
    : open_(std::move(open)), finish_(std::move(finish)), max_batch_(std::max<std::size_t>(1, max_batch)),
      mode_(mode) {}

GroupCommitter::~GroupCommitter() { flush(); }

void GroupCommitter::submit(CommitJob& job) {
  job.done_ = false;
  job.error_ = nullptr;
  if (mode_ == CommitMode::PerAppendSerialized) {
    std::lock_guard serial(solo_mutex_);
    run_alone(job);
    return;
  }
  if (mode_ == CommitMode::PerAppend) {
    run_alone(job);
    return;
  }
  std::unique_lock lock(mutex_);
  queue_.push_back(&job);
  while (!job.done_) {
    if (leader_active_) {
      cv_.wait(lock);
      continue;
    }
    // Become the leader for whatever is queued (this job included, unless the queue is
    // longer than one batch: then an earlier batch goes first and we lead again).
    leader_active_ = true;
    const std::size_t n = std::min(queue_.size(), max_batch_);
    std::vector<CommitJob*> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    std::exception_ptr error;
    lock.unlock();
    try {
      if (!conn_) conn_ = open_();
      commit(batch, *conn_);
    } catch (...) {
      error = std::current_exception();
      // A connection that failed mid-transaction may be unusable; open a fresh one next time.
      if (conn_ && sqlite3_get_autocommit(conn_->handle()) == 0) conn_.reset();
    }
    lock.lock();
    for (CommitJob* j : batch) {
      j->error_ = error;
      j->done_ = true;
    }
    if (error) {
      ++stats_.failed_batches;
    } else {
      ++stats_.batches;
      stats_.jobs += batch.size();
      stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch.size());
    }
    leader_active_ = false;
    cv_.notify_all();
  }
  if (job.error_) std::rethrow_exception(job.error_);
}

void GroupCommitter::commit(const std::vector<CommitJob*>& batch, sqlite::Connection& conn) {
  sqlite::WriteTransaction tx(conn, "audit commit");
  BatchState state;
  for (CommitJob* j : batch) j->apply(conn, state);
  finish_(conn, state);
  tx.commit();
}

void GroupCommitter::run_alone(CommitJob& job) {
  std::unique_ptr<sqlite::Connection> conn;
  {
    std::lock_guard lock(mutex_);
    if (!solo_idle_.empty()) {
      conn = std::move(solo_idle_.back());
      solo_idle_.pop_back();
    }
  }
  try {
    if (!conn) conn = open_();
    commit({&job}, *conn);
  } catch (...) {
    std::lock_guard lock(mutex_);
    ++stats_.failed_batches;
    if (conn && sqlite3_get_autocommit(conn->handle()) != 0) solo_idle_.push_back(std::move(conn));
    throw;
  }
  std::lock_guard lock(mutex_);
  ++stats_.batches;
  ++stats_.jobs;
  stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, 1);
  solo_idle_.push_back(std::move(conn));
}

void GroupCommitter::flush() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return queue_.empty() && !leader_active_; });
}

GroupCommitStats GroupCommitter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace sekds::store
