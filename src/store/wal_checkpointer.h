// Checkpoints the WAL on a thread of its own.
//
// SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages:
// that writer (with the group commit, every writer of its batch) waits while the WAL is copied
// into the database and both files are synced. On key releases this was the p99: a few
// milliseconds once every ~140 releases, at any load. Here the committing connection only
// wakes the checkpointer, which checkpoints (PASSIVE: it never blocks writers) from its own
// connection. A WAL that still reaches `hard_limit_frames` (the thread falling behind, or
// failing) is checkpointed by the writer as SQLite would have done, so the WAL stays bounded.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite_db.h"

namespace sekds::store {

struct WalCheckpointStats {
  std::uint64_t checkpoints = 0;      // PASSIVE checkpoints the thread completed
  std::uint64_t failures = 0;         // checkpoints that failed (the next wake-up tries again)
  std::uint64_t writer_fallbacks = 0;  // checkpoints a writer ran itself at the hard limit
  std::string last_error;
};

class WalCheckpointer {
 public:
  WalCheckpointer(sqlite::ConnectionOptions options, int threshold_frames = 1000, int hard_limit_frames = 10000);
  ~WalCheckpointer();  // stops the thread (what is left in the WAL goes at the last close)
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Replaces the automatic checkpoint of `writer` (a connection that commits) with a wake-up
  // of this checkpointer. The checkpointer must outlive `writer`.
  void attach(sqlite::Connection& writer);

  WalCheckpointStats stats() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int frames);
  void run();
  void checkpoint();

  sqlite::ConnectionOptions options_;
  const int threshold_;
  const int hard_limit_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stop_ = false;
  WalCheckpointStats stats_;
  std::unique_ptr<sqlite::Connection> conn_;  // the thread's own, opened at the first checkpoint
  std::thread thread_;
};

}  // namespace sekds::store
