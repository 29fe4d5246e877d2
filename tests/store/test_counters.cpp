// Per-card sequence counters: anomalies named, recorded even when anomalous, atomic
// under concurrency.
#include <boost/test/unit_test.hpp>

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
using sekds::test::StoreFixture;

BOOST_AUTO_TEST_SUITE(counters)

BOOST_AUTO_TEST_CASE(anomalies) {
  StoreFixture f;
  const gp::Bytes kdd = test::sample_kdd(7);
  BOOST_TEST(!f.store->find_counter(kdd));
  CounterCheck c = f.store->check_and_record(kdd, 10);
  BOOST_TEST(!c.previous);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  c = f.store->check_and_record(kdd, 11);
  BOOST_TEST(c.previous.value_or(0) == 10u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  c = f.store->check_and_record(kdd, 11);
  BOOST_TEST(c.previous.value_or(0) == 11u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("repeated"));
  c = f.store->check_and_record(kdd, 3);
  BOOST_TEST(c.previous.value_or(0) == 11u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("backwards"));
  // Recorded even though anomalous: the next check compares with 3.
  auto stored = f.store->find_counter(kdd);
  BOOST_REQUIRE(stored);
  BOOST_TEST(stored->last == 3u);
  BOOST_TEST(stored->highest == 11u);
  BOOST_TEST(stored->anomalies == 2u);
  c = f.store->check_and_record(kdd, 4);
  BOOST_TEST(c.previous.value_or(0) == 3u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  // Cards are independent; SCP03 counters are 3 bytes.
  c = f.store->check_and_record(test::sample_kdd(8), 0xFFFFFF);
  BOOST_TEST(!c.previous);
  BOOST_TEST(f.store->find_counter(test::sample_kdd(8))->last == 0xFFFFFFu);
}

BOOST_AUTO_TEST_CASE(kdd_must_be_ten_bytes) {
  StoreFixture f;
  const gp::Bytes short_kdd = gp::from_hex("0102");
  BOOST_TEST(error_of([&] { f.store->check_and_record(short_kdd, 1); }) == StoreErrc::InvalidArgument);
  BOOST_TEST(error_of([&] { f.store->find_counter(short_kdd); }) == StoreErrc::InvalidArgument);
}

// Eight threads record distinct counters for one card. If check_and_record is atomic the
// calls form one sequence: exactly one saw no predecessor, and every other call saw a
// different predecessor (no two read the same "last" value).
BOOST_AUTO_TEST_CASE(atomic_under_concurrency) {
  StoreFixture f;
  const gp::Bytes kdd = test::sample_kdd(9);
  std::mutex m;
  std::map<std::uint32_t, std::optional<std::uint32_t>> seen;  // counter -> previous
  std::vector<std::thread> pool;
  for (std::uint32_t t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (std::uint32_t i = 0; i < 50; ++i) {
        const std::uint32_t value = 1000 + t * 50 + i;
        const CounterCheck c = f.store->check_and_record(kdd, value);
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
  const auto stored = f.store->find_counter(kdd);
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
  StoreFixture f;
  const gp::Bytes kdd = test::sample_kdd(0x01);
  const auto before = f.store->audit_head().seq;
  auto done = f.store->record_release(kdd, 5, test::sample_release(), completion(true));
  BOOST_REQUIRE(done.appended.has_value());
  BOOST_TEST(done.appended->seq == before + 1);
  BOOST_TEST(!done.counter.previous);
  BOOST_TEST(f.store->find_counter(kdd)->last == 5u);
  auto rec = f.store->find_audit(done.appended->seq);
  BOOST_REQUIRE(rec.has_value());
  BOOST_TEST(rec->detail.find("\"counter_seen\":0") != std::string::npos, rec->detail);  // completed inside
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(refused_anomaly_records_the_counter_but_no_release) {
  StoreFixture f;
  const gp::Bytes kdd = test::sample_kdd(0x01);
  BOOST_REQUIRE(f.store->record_release(kdd, 5, test::sample_release(), completion(true)).appended);
  const auto head = f.store->audit_head().seq;
  auto replayed = f.store->record_release(kdd, 5, test::sample_release(), completion(true));
  BOOST_TEST(!replayed.appended.has_value());
  BOOST_TEST(counter_anomaly_name(replayed.counter.anomaly) == std::string("repeated"));
  BOOST_TEST(f.store->audit_head().seq == head);            // nothing appended
  BOOST_TEST(f.store->find_counter(kdd)->anomalies == 1u);  // but the anomaly is counted
  // Flag-only mode: the release goes through, with the anomaly on record.
  auto flagged = f.store->record_release(kdd, 4, test::sample_release(), completion(false));
  BOOST_TEST(flagged.appended.has_value());
  BOOST_TEST(counter_anomaly_name(flagged.counter.anomaly) == std::string("backwards"));
}

BOOST_AUTO_TEST_CASE(a_release_that_cannot_be_written_leaves_no_counter) {
  // Before, the counter was committed on its own first: a failed audit append left it behind
  // and the TSM's retry with the same counter was taken for a replay.
  SqliteOptions impatient;
  impatient.busy_timeout_ms = 100;
  StoreFixture f(impatient);
  const gp::Bytes kdd = test::sample_kdd(0x01);
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open(f.db.c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST(error_of([&] { f.store->record_release(kdd, 9, test::sample_release(), completion(true)); }) ==
             StoreErrc::Busy);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  BOOST_TEST(!f.store->find_counter(kdd).has_value());
  auto retry = f.store->record_release(kdd, 9, test::sample_release(), completion(true));
  BOOST_TEST(retry.appended.has_value());
  BOOST_TEST(counter_anomaly_name(retry.counter.anomaly) == std::string("none"));
}

BOOST_AUTO_TEST_SUITE_END()
