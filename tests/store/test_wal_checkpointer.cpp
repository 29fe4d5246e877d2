// The WAL is checkpointed by the checkpointer's thread, not inside the writers' commits; a
// checkpointer that cannot keep up still leaves the WAL bounded (the writer checkpoints at the
// hard limit).
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "store/sqlite_db.h"
#include "store/wal_checkpointer.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::StoreFixture;
using sekds::test::TempDir;

namespace {

sqlite::ConnectionOptions options_for(const TempDir& dir) { return {(dir.path() / "wal.db").string(), false, 10000, {}}; }

void commit_rows(sqlite::Connection& c, int n) {
  for (int i = 0; i < n; ++i) c.exec("INSERT INTO t(v) VALUES (randomblob(200))", "insert");
}

// The database file grows only when a checkpoint copies the WAL into it.
std::uintmax_t db_size(const sqlite::ConnectionOptions& o) { return std::filesystem::file_size(o.path); }

// A database with a table t, a checkpointer, and a writer attached to it (destroyed first).
struct Wal {
  Wal(int threshold, int hard_limit) : o(options_for(dir)), cp(o, threshold, hard_limit), writer(o) {
    writer.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)", "create");
    cp.attach(writer);
  }
  TempDir dir;
  sqlite::ConnectionOptions o;
  WalCheckpointer cp;
  sqlite::Connection writer;
};

bool wait_for(const std::function<bool()>& ok) {
  for (int i = 0; i < 500 && !ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return ok();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wal_checkpointer)

BOOST_AUTO_TEST_CASE(the_thread_checkpoints_past_the_threshold) {
  Wal w(20, 100000);
  auto& [dir, o, cp, writer] = w;
  writer.exec("PRAGMA wal_checkpoint(TRUNCATE)", "start from an empty WAL");
  const auto before = db_size(o);
  commit_rows(writer, 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  BOOST_TEST(cp.stats().checkpoints == 0u);  // below the threshold: nothing to do
  BOOST_TEST(db_size(o) == before);
  commit_rows(writer, 300);
  BOOST_REQUIRE(wait_for([&] { return cp.stats().checkpoints >= 1 && db_size(o) > before; }));
  const auto s = cp.stats();
  BOOST_TEST(s.failures == 0u, s.last_error);
  // Automatic checkpoints are off on the writer (the hook replaces them) and it never reached
  // the hard limit: the thread copied the rows into the database.
  BOOST_TEST(s.writer_fallbacks == 0u);
}

BOOST_AUTO_TEST_CASE(at_the_hard_limit_the_writer_checkpoints_itself) {
  Wal w(10, 50);
  auto& [dir, o, cp, writer] = w;
  {
    // A reader on an old snapshot: no checkpoint can copy the frames after it, so the
    // checkpointer's thread cannot bring the WAL down and the writer reaches the hard limit.
    sqlite::Connection reader(o);
    reader.exec("BEGIN", "begin");
    reader.exec("SELECT count(*) FROM t", "read");
    commit_rows(writer, 120);
    BOOST_TEST(cp.stats().writer_fallbacks >= 1u);
    reader.exec("COMMIT", "end");
  }
  const auto before = db_size(o);
  commit_rows(writer, 60);  // with the reader gone the checkpoints go through
  BOOST_TEST(wait_for([&] { return db_size(o) > before; }));
  BOOST_TEST(cp.stats().failures == 0u, cp.stats().last_error);
}

BOOST_AUTO_TEST_CASE(the_store_checkpoints_off_the_commit_path) {
  StoreFixture f;
  for (int i = 0; i < 400; ++i) {
    AuditRecord r = test::sample_release("tsm1", static_cast<std::uint8_t>(i));
    r.request_id = "wal-" + std::to_string(i);
    f.store->append(r);
  }
  // 400 appends write well over the 1,000-frame threshold.
  BOOST_REQUIRE(wait_for([&] { return f.store->wal_checkpoint_stats().checkpoints >= 1; }));
  BOOST_TEST(f.store->wal_checkpoint_stats().failures == 0u, f.store->wal_checkpoint_stats().last_error);
  BOOST_TEST(f.store->wal_checkpoint_stats().writer_fallbacks == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
