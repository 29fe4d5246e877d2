// Per-card sequence counters: anomalies named, recorded even when anomalous, atomic
// under concurrency.
#include <boost/test/unit_test.hpp>

#include <map>
#include <mutex>
#include <set>
#include <thread>

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
