#include "store/wal_checkpointer.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <exception>
#include <functional>

namespace sekds::store {

namespace {

// The thread starts with every signal blocked: a library thread must not be the one the kernel
// picks for a process-directed SIGTERM, which the program may block in its own threads to
// wait for it (sekds-server does; with the default action the process would just die).
std::thread start_without_signals(std::function<void()> body) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t(std::move(body));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace

WalCheckpointer::WalCheckpointer(sqlite::ConnectionOptions options, int threshold_frames, int hard_limit_frames)
    : options_(std::move(options)),
      threshold_(std::max(1, threshold_frames)),
      hard_limit_(std::max(threshold_ + 1, hard_limit_frames)),
      thread_(start_without_signals([this] { run(); })) {}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WalCheckpointer::attach(sqlite::Connection& writer) {
  // sqlite3_wal_hook replaces the automatic checkpoint (itself a WAL hook) on this connection.
  sqlite3_wal_hook(writer.handle(), &WalCheckpointer::on_commit, this);
}

int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (frames >= c->hard_limit_) {
    // The thread is behind: checkpoint here, as SQLite would have. Errors are not returned:
    // the transaction is committed already, and an error here would make it look failed.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    std::lock_guard lock(c->mutex_);
    ++c->stats_.writer_fallbacks;
    return SQLITE_OK;
  }
  if (frames >= c->threshold_) {
    {
      std::lock_guard lock(c->mutex_);
      c->wanted_ = true;
    }
    c->cv_.notify_one();
  }
  return SQLITE_OK;
}

WalCheckpointStats WalCheckpointer::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return wanted_ || stop_; });
    if (stop_) break;
    wanted_ = false;
    lock.unlock();
    checkpoint();
    lock.lock();
  }
  lock.unlock();
  conn_.reset();
}

void WalCheckpointer::checkpoint() {
  std::string error;
  try {
    if (!conn_) conn_ = std::make_unique<sqlite::Connection>(options_);
    int log = 0, done = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    // BUSY: another connection is checkpointing; the next commit past the threshold wakes us again.
    if (rc == SQLITE_BUSY) return;
    if (rc != SQLITE_OK) error = std::string("wal checkpoint: ") + sqlite3_errstr(rc);
  } catch (const std::exception& e) {
    error = e.what();
  }
  std::lock_guard lock(mutex_);
  if (error.empty()) {
    ++stats_.checkpoints;
    return;
  }
  ++stats_.failures;
  stats_.last_error = error;
  conn_.reset();  // reopened at the next wake-up (the file may have been replaced or repaired)
}

}  // namespace sekds::store
