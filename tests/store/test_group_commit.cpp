// Group commit: concurrent appenders (threads and processes) get durable, gap-free,
// unique seqs on one valid chain; a failed batch fails all its appenders and claims no
// seq; idempotent retries are recorded once.
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::raw_query;
using sekds::test::StoreFixture;

namespace {

// Runs `threads` x `per_thread` appends; returns every seq handed out.
std::vector<AuditId> hammer(Store& s, int threads, int per_thread, const std::string& actor) {
  std::vector<std::vector<AuditId>> seqs(static_cast<std::size_t>(threads));
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        try {
          AuditRecord r = test::sample_release(actor, static_cast<std::uint8_t>(t));
          r.request_id = actor + "-" + std::to_string(t) + "-" + std::to_string(i);
          seqs[static_cast<std::size_t>(t)].push_back(s.append(r).seq);
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(failures.load() == 0);
  std::vector<AuditId> all;
  for (auto& v : seqs) all.insert(all.end(), v.begin(), v.end());
  return all;
}

void expect_gap_free(std::vector<AuditId> seqs, AuditId first, std::size_t count) {
  BOOST_REQUIRE_EQUAL(seqs.size(), count);
  std::sort(seqs.begin(), seqs.end());
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    if (seqs[i] != first + i) {
      BOOST_ERROR("seq " << seqs[i] << " at position " << i << ", expected " << first + i);
      return;
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(group_commit)

BOOST_AUTO_TEST_CASE(eight_threads_by_five_hundred) {
  StoreFixture f;
  const auto seqs = hammer(*f.store, 8, 500, "tsm1");
  expect_gap_free(seqs, 1, 4000);
  // Durable and visible to anyone opening the file.
  BOOST_TEST(raw_query(f.db, "SELECT count(*) FROM audit") == "4000");
  const VerifyReport r = f.store->verify_audit();
  BOOST_TEST(r.ok, r.reason);
  BOOST_TEST(r.records == 4000u);
  const GroupCommitStats st = f.store->group_commit_stats();
  BOOST_TEST_MESSAGE("batches " << st.batches << ", largest " << st.largest_batch);
  BOOST_TEST(st.jobs == 4000u);
  BOOST_TEST(st.failed_batches == 0u);
  // Eight threads appending back to back share transactions (not a speed claim: one
  // batch of more than one record is enough).
  BOOST_TEST(st.largest_batch > 1u);
  BOOST_TEST(st.batches < 4000u);
}

BOOST_AUTO_TEST_CASE(appends_and_counters_share_batches) {
  StoreFixture f;
  f.store->add_issuer(test::kOperator, test::sample_issuer());  // the counters' issuer
  const auto before = f.store->audit_head().seq;
  std::vector<std::thread> pool;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint32_t i = 1; i <= 100; ++i) {
        try {
          const auto kdd = test::sample_kdd(static_cast<std::uint8_t>(t));
          const CounterCheck c = f.store->check_and_record("acme", kdd, i);
          if (c.anomaly != CounterAnomaly::None) ++failures;
          f.store->append(test::sample_release("tsm1", static_cast<std::uint8_t>(t)));
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(f.store->audit_head().seq == before + 400u);
  for (int t = 0; t < 4; ++t) BOOST_TEST(f.store->find_counter("acme", test::sample_kdd(static_cast<std::uint8_t>(t)))->last == 100u);
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(two_processes_keep_one_chain) {
  StoreFixture f;
  f.store->append(test::sample_release("setup"));
  f.store.reset();  // no SQLite connection crosses fork()
  const pid_t child = fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    int rc = 0;
    try {
      auto s = SqliteStore::open(f.db);
      std::vector<std::thread> pool;
      std::atomic<int> failures{0};
      for (int t = 0; t < 4; ++t) {
        pool.emplace_back([&] {
          for (int i = 0; i < 250; ++i) {
            try {
              s->append(test::sample_release("child"));
            } catch (const std::exception&) {
              ++failures;
            }
          }
        });
      }
      for (auto& th : pool) th.join();
      rc = failures.load() == 0 ? 0 : 2;
    } catch (...) {
      rc = 3;
    }
    _exit(rc);
  }
  auto parent = SqliteStore::open(f.db);
  const auto seqs = hammer(*parent, 4, 250, "parent");
  int status = 0;
  BOOST_REQUIRE(waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(std::set<AuditId>(seqs.begin(), seqs.end()).size() == 1000u);
  BOOST_TEST(raw_query(f.db, "SELECT count(*) FROM audit WHERE actor = 'child'") == "1000");
  BOOST_TEST(raw_query(f.db, "SELECT count(*) FROM audit WHERE actor = 'parent'") == "1000");
  const VerifyReport r = parent->verify_audit();
  BOOST_TEST(r.ok, r.reason);
  BOOST_TEST(r.records == 2001u);
}

BOOST_AUTO_TEST_CASE(naive_modes_are_also_gap_free) {
  for (CommitMode mode : {CommitMode::PerAppend, CommitMode::PerAppendSerialized}) {
    BOOST_TEST_CONTEXT(commit_mode_name(mode)) {
      SqliteOptions o;
      o.commit_mode = mode;
      StoreFixture f(o);
      const auto seqs = hammer(*f.store, 4, 50, "tsm1");
      expect_gap_free(seqs, 1, 200);
      BOOST_TEST(f.store->group_commit_stats().largest_batch == 1u);
      BOOST_TEST(f.store->group_commit_stats().batches == 200u);
      BOOST_TEST(f.store->verify_audit().ok);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_failed_batch_fails_every_appender_and_claims_nothing) {
  test::TempDir dir;
  const auto db = dir.file("small.db");
  SqliteOptions capped;
  capped.max_size_bytes = 256 * 1024;
  AuditId last_ok = 0;
  {
    auto s = SqliteStore::open(db, capped);
    AuditRecord big = test::sample_release();
    big.detail = {{"padding", std::string(3500, 'p')}};
    // Fill the database to its cap.
    for (int i = 0; i < 1000; ++i) {
      try {
        last_ok = s->append(big).seq;
      } catch (const StoreError& e) {
        BOOST_TEST(e.name() == std::string("DiskFull"));
        break;
      }
    }
    BOOST_REQUIRE(last_ok > 0);
    BOOST_REQUIRE(last_ok < 1000);
    // Now eight concurrent appenders: every one of them gets the error.
    std::atomic<int> full{0}, other{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
      pool.emplace_back([&] {
        try {
          s->append(big);
        } catch (const StoreError& e) {
          (e.code() == StoreErrc::DiskFull ? full : other)++;
        }
      });
    }
    for (auto& th : pool) th.join();
    BOOST_TEST(full.load() == 8);
    BOOST_TEST(other.load() == 0);
    BOOST_TEST(s->audit_head().seq == last_ok);
    BOOST_TEST(s->verify_audit().ok);
  }
  // With room again the chain continues at the next seq: nothing was claimed.
  auto s = SqliteStore::open(db);
  BOOST_TEST(s->append(test::sample_release()).seq == last_ok + 1);
  BOOST_TEST(s->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(idempotent_retries_are_recorded_once) {
  StoreFixture f;
  AuditRecord r = test::sample_release("tsm1");
  r.request_id = "req-42";
  r.idempotency_window = std::chrono::minutes(10);
  const AppendResult first = f.store->append(r);
  BOOST_TEST(!first.duplicate);
  const AppendResult again = f.store->append(r);
  BOOST_TEST(again.duplicate);
  BOOST_TEST(again.seq == first.seq);
  BOOST_TEST(f.store->audit_head().seq == first.seq);

  auto found = f.store->find_release("tsm1", "req-42", now_utc() - std::chrono::minutes(10));
  BOOST_REQUIRE(found);
  BOOST_TEST(found->seq == first.seq);
  BOOST_TEST(!f.store->find_release("tsm1", "req-42", now_utc() + std::chrono::minutes(1)));
  BOOST_TEST(!f.store->find_release("tsm2", "req-42", now_utc() - std::chrono::minutes(10)));

  // Another TSM with the same request id is a different request.
  AuditRecord other = r;
  other.actor = "tsm2";
  BOOST_TEST(!f.store->append(other).duplicate);
  // A failed attempt is not a release: a retry after it is recorded.
  AuditRecord failed = r;
  failed.request_id = "req-43";
  failed.result = "HsmUnavailable";
  f.store->append(failed);
  BOOST_TEST(!f.store->find_release("tsm1", "req-43", now_utc() - std::chrono::minutes(10)));
  AuditRecord retry = r;
  retry.request_id = "req-43";
  BOOST_TEST(!f.store->append(retry).duplicate);
  // Without a window every append is recorded.
  AuditRecord plain = r;
  plain.idempotency_window.reset();
  BOOST_TEST(!f.store->append(plain).duplicate);
  BOOST_TEST(f.store->audit_head().seq == 5u);
}

BOOST_AUTO_TEST_CASE(racing_retries_are_recorded_once) {
  StoreFixture f;
  std::vector<AppendResult> results(8);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < results.size(); ++t) {
    pool.emplace_back([&, t] {
      AuditRecord r = test::sample_release("tsm1");
      r.request_id = "same";
      r.idempotency_window = std::chrono::minutes(10);
      results[t] = f.store->append(r);
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(f.store->audit_head().seq == 1u);
  int fresh = 0;
  for (const auto& r : results) {
    BOOST_TEST(r.seq == 1u);
    fresh += r.duplicate ? 0 : 1;
  }
  BOOST_TEST(fresh == 1);
}

BOOST_AUTO_TEST_CASE(flush_returns_with_nothing_pending) {
  StoreFixture f;
  std::thread t([&] { hammer(*f.store, 2, 50, "tsm1"); });
  t.join();
  f.store->flush();
  BOOST_TEST(f.store->audit_head().seq == 100u);
}

BOOST_AUTO_TEST_SUITE_END()
