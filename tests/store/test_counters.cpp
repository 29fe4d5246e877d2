// Per-card sequence counters: anomalies named, recorded even when anomalous (a release that
// went through), atomic under concurrency, one counter per (issuer, KDD), and a refused
// release writes none.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <sqlite3.h>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::kOperator;
using sekds::test::StoreFixture;

namespace {
// A store with the issuers the counters belong to: acme (of sample_release) and beta.
struct Issuers : StoreFixture {
  Issuers() {
    store->add_issuer(kOperator, test::sample_issuer("acme", "42A1B2"));
    store->add_issuer(kOperator, test::sample_issuer("beta", "42B0B0"));
  }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(counters)

BOOST_AUTO_TEST_CASE(anomalies) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(7);
  BOOST_TEST(!f.store->find_counter("acme", kdd));
  CounterCheck c = f.store->check_and_record("acme", kdd, 10);
  BOOST_TEST(!c.previous);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  c = f.store->check_and_record("acme", kdd, 11);
  BOOST_TEST(c.previous.value_or(0) == 10u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  c = f.store->check_and_record("acme", kdd, 11);
  BOOST_TEST(c.previous.value_or(0) == 11u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("repeated"));
  c = f.store->check_and_record("acme", kdd, 3);
  BOOST_TEST(c.previous.value_or(0) == 11u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("backwards"));
  // Recorded even though anomalous: the next check compares with 3.
  auto stored = f.store->find_counter("acme", kdd);
  BOOST_REQUIRE(stored);
  BOOST_TEST(stored->last == 3u);
  BOOST_TEST(stored->highest == 11u);
  BOOST_TEST(stored->anomalies == 2u);
  c = f.store->check_and_record("acme", kdd, 4);
  BOOST_TEST(c.previous.value_or(0) == 3u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  // Cards are independent; SCP03 counters are 3 bytes.
  c = f.store->check_and_record("acme", test::sample_kdd(8), 0xFFFFFF);
  BOOST_TEST(!c.previous);
  BOOST_TEST(f.store->find_counter("acme", test::sample_kdd(8))->last == 0xFFFFFFu);
}

BOOST_AUTO_TEST_CASE(kdd_must_be_ten_bytes) {
  Issuers f;
  const gp::Bytes short_kdd = gp::from_hex("0102");
  BOOST_TEST(error_of([&] { f.store->check_and_record("acme", short_kdd, 1); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->find_counter("acme", short_kdd); }) == StoreErrc::InvalidArgument);
}

// Eight threads record distinct counters for one card. If check_and_record is atomic the
// calls form one sequence: exactly one saw no predecessor, and every other call saw a
// different predecessor (no two read the same "last" value).
BOOST_AUTO_TEST_CASE(atomic_under_concurrency) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(9);
  std::mutex m;
  std::map<std::uint32_t, std::optional<std::uint32_t>> seen;  // counter -> previous
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < 50; ++i) {
        const std::uint32_t value = 1000 + t * 50 + i;
        const CounterCheck c = f.store->check_and_record("acme", kdd, value);
        std::lock_guard lock(m);
        seen[value] = c.previous;
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_REQUIRE_EQUAL(seen.size(), 400u);
  int firsts = 0;
  std::set<std::uint32_t> predecessors;
  for (const auto& [value, prev] : seen) {
    if (!prev) {
      ++firsts;
      continue;
    }
    BOOST_TEST(seen.count(*prev) == 1u);  // a value some call recorded
    predecessors.insert(*prev);
  }
  BOOST_TEST(firsts == 1);
  BOOST_TEST(predecessors.size() == 399u);  // all distinct
  const auto stored = f.store->find_counter("acme", kdd);
  BOOST_TEST(predecessors.count(stored->last) == 0u);  // the last one is nobody's predecessor
  BOOST_TEST(stored->highest == 1399u);
}

BOOST_AUTO_TEST_SUITE_END()

// record_release: the counter and the release record in one transaction.
BOOST_AUTO_TEST_SUITE(release_with_counter)

namespace {
// The completion the key service uses: counter details into the record; refuse anomalies.
auto completion(bool reject) {
  return [reject](const CounterCheck& c, AuditRecord& r) {
    r.detail["counter_seen"] = c.previous.value_or(0);
    return c.anomaly == CounterAnomaly::None || !reject;
  };
}
}  // namespace

BOOST_AUTO_TEST_CASE(release_and_counter_together) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x01);
  const auto before = f.store->audit_head().seq;
  auto done = f.store->record_release("acme", kdd, 5, test::sample_release(), completion(true));
  BOOST_REQUIRE(done.appended.has_value());
  BOOST_TEST(done.appended->seq == before + 1);
  BOOST_TEST(!done.counter.previous);
  BOOST_TEST(f.store->find_counter("acme", kdd)->last == 5u);
  auto rec = f.store->find_audit(done.appended->seq);
  BOOST_REQUIRE(rec.has_value());
  BOOST_TEST(rec->detail.find("\"counter_seen\":0") != std::string::npos, rec->detail);  // completed inside
  BOOST_TEST(f.store->verify_audit().ok);
}

// Before (issue 19, item 6) a refused release still overwrote the counter (and counted the
// anomaly): the next check then compared with the refused value.
BOOST_AUTO_TEST_CASE(a_refused_anomaly_writes_no_counter_and_no_release) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x01);
  BOOST_REQUIRE(f.store->record_release("acme", kdd, 5, test::sample_release(), completion(true)).appended);
  const auto head = f.store->audit_head().seq;
  auto replayed = f.store->record_release("acme", kdd, 5, test::sample_release(), completion(true));
  BOOST_TEST(!replayed.appended.has_value());
  BOOST_TEST(counter_anomaly_name(replayed.counter.anomaly) == std::string("repeated"));
  auto backwards = f.store->record_release("acme", kdd, 3, test::sample_release(), completion(true));
  BOOST_TEST(!backwards.appended.has_value());
  BOOST_TEST(counter_anomaly_name(backwards.counter.anomaly) == std::string("backwards"));
  BOOST_TEST(f.store->audit_head().seq == head);  // nothing appended
  auto stored = f.store->find_counter("acme", kdd);
  BOOST_REQUIRE(stored);
  BOOST_TEST(stored->last == 5u);  // still the released one
  BOOST_TEST(stored->highest == 5u);
  BOOST_TEST(stored->anomalies == 0u);
  // 4 is still backwards from 5 (compared with the refused 3 it would have passed).
  auto again = f.store->record_release("acme", kdd, 4, test::sample_release(), completion(true));
  BOOST_TEST(!again.appended.has_value());
  BOOST_TEST(again.counter.previous.value_or(0) == 5u);
  BOOST_TEST(counter_anomaly_name(again.counter.anomaly) == std::string("backwards"));
  // Flag-only mode: the release goes through, with the anomaly on record, and moves the counter.
  auto flagged = f.store->record_release("acme", kdd, 4, test::sample_release(), completion(false));
  BOOST_TEST(flagged.appended.has_value());
  BOOST_TEST(counter_anomaly_name(flagged.counter.anomaly) == std::string("backwards"));
  BOOST_TEST(f.store->find_counter("acme", kdd)->last == 4u);
  BOOST_TEST(f.store->find_counter("acme", kdd)->anomalies == 1u);
}

// A card seen for the first time is refused by nobody; its refusal must not create a counter.
BOOST_AUTO_TEST_CASE(a_refused_first_release_leaves_no_counter) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x02);
  auto refuse_all = [](const CounterCheck&, AuditRecord&) { return false; };
  auto r = f.store->record_release("acme", kdd, 0xFFFFFF, test::sample_release(), refuse_all);
  BOOST_TEST(!r.appended.has_value());
  BOOST_TEST(!f.store->find_counter("acme", kdd).has_value());
}

// The same KDD under two issuers is two cards: before, one counter served both.
BOOST_AUTO_TEST_CASE(counters_are_per_issuer) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x03);
  BOOST_TEST(!f.store->check_and_record("acme", kdd, 10).previous);
  BOOST_TEST(!f.store->check_and_record("beta", kdd, 500).previous);  // not acme's 10
  CounterCheck c = f.store->check_and_record("acme", kdd, 11);
  BOOST_TEST(c.previous.value_or(0) == 10u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  c = f.store->check_and_record("beta", kdd, 500);
  BOOST_TEST(c.previous.value_or(0) == 500u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("repeated"));
  const auto acme = f.store->find_counter("acme", kdd);
  const auto beta = f.store->find_counter("beta", kdd);
  BOOST_REQUIRE(acme);
  BOOST_REQUIRE(beta);
  BOOST_TEST(acme->issuer == "acme");
  BOOST_TEST(acme->last == 11u);
  BOOST_TEST(acme->anomalies == 0u);
  BOOST_TEST(beta->issuer == "beta");
  BOOST_TEST(beta->last == 500u);
  BOOST_TEST(beta->anomalies == 1u);
}

// The lock-out of issue 19: a TSM of beta releases beta's keys for the KDD of an acme card at
// FFFFFF. With one counter per KDD every later counter of the acme card was "backwards", and
// refused with reject_counter_anomaly.
BOOST_AUTO_TEST_CASE(another_issuer_cannot_lock_a_card_out) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x04);
  BOOST_REQUIRE(f.store->record_release("acme", kdd, 10, test::sample_release(), completion(true)).appended);
  AuditRecord theirs = test::sample_release("tsm-b");
  theirs.issuer = "beta";
  BOOST_REQUIRE(f.store->record_release("beta", kdd, 0xFFFFFF, theirs, completion(true)).appended);
  auto next = f.store->record_release("acme", kdd, 11, test::sample_release(), completion(true));
  BOOST_TEST(next.appended.has_value());
  BOOST_TEST(next.counter.previous.value_or(0) == 10u);
  BOOST_TEST(counter_anomaly_name(next.counter.anomaly) == std::string("none"));
  BOOST_TEST(f.store->find_counter("acme", kdd)->last == 11u);
  BOOST_TEST(f.store->find_counter("beta", kdd)->last == 0xFFFFFFu);
}

// An unknown issuer is NotFound for its caller alone: the batch it shared commits.
BOOST_AUTO_TEST_CASE(an_unknown_issuer_is_not_found_and_fails_only_its_caller) {
  Issuers f;
  const gp::Bytes kdd = test::sample_kdd(0x05);
  BOOST_TEST(error_of([&] { f.store->check_and_record("nobody", kdd, 1); }) == StoreErrc::NotFound);
  BOOST_TEST(error_of([&] { f.store->record_release("nobody", kdd, 1, test::sample_release(), completion(true)); }) ==
             StoreErrc::NotFound);
  BOOST_TEST(!f.store->find_counter("nobody", kdd).has_value());
  BOOST_TEST(error_of([&] { f.store->check_and_record("", kdd, 1); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->find_counter("", kdd); }) == StoreErrc::InvalidArgument);
  std::vector<std::thread> pool;
  std::atomic<int> not_found{0}, recorded{0};
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint32_t i = 1; i <= 20; ++i) {
        try {
          f.store->check_and_record(t % 2 ? "nobody" : "acme", test::sample_kdd(static_cast<std::uint8_t>(0x10 + t)), i);
          ++recorded;
        } catch (const StoreError& e) {
          if (e.code() == StoreErrc::NotFound) ++not_found;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  BOOST_TEST(not_found.load() == 80);
  BOOST_TEST(recorded.load() == 80);
  BOOST_TEST(f.store->find_counter("acme", test::sample_kdd(0x10))->last == 20u);
}

BOOST_AUTO_TEST_CASE(a_release_that_cannot_be_written_leaves_no_counter) {
  // Before, the counter was committed on its own first: a failed audit append left it behind
  // and the TSM's retry with the same counter was taken for a replay.
  SqliteOptions impatient;
  impatient.busy_timeout_ms = 100;
  StoreFixture f(impatient);
  f.store->add_issuer(kOperator, test::sample_issuer());
  const gp::Bytes kdd = test::sample_kdd(0x01);
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open(f.db.c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST(error_of([&] { f.store->record_release("acme", kdd, 9, test::sample_release(), completion(true)); }) ==
             StoreErrc::Busy);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  BOOST_TEST(!f.store->find_counter("acme", kdd).has_value());
  auto retry = f.store->record_release("acme", kdd, 9, test::sample_release(), completion(true));
  BOOST_TEST(retry.appended.has_value());
  BOOST_TEST(counter_anomaly_name(retry.counter.anomaly) == std::string("none"));
}

BOOST_AUTO_TEST_SUITE_END()
