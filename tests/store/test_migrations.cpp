// Schema migrations: fresh file, re-open, newer database refused, a failing migration
// leaves nothing behind, foreign files refused.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include <nlohmann/json.hpp>

#include "store/migrations.h"
#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::raw_exec;
using sekds::test::raw_query;
using sekds::test::TempDir;

using sekds::test::error_of;

BOOST_AUTO_TEST_SUITE(migrations)

BOOST_AUTO_TEST_CASE(embedded_migrations_are_numbered_from_one) {
  const auto ms = embedded_migrations();
  BOOST_REQUIRE(!ms.empty());
  for (std::size_t i = 0; i < ms.size(); ++i) {
    BOOST_TEST(ms[i].version == static_cast<int>(i + 1));
    BOOST_TEST(ms[i].name.substr(0, 5) == std::string(4 - std::to_string(i + 1).size(), '0') + std::to_string(i + 1) + "_");
    BOOST_TEST(!ms[i].sql.empty());
  }
  BOOST_TEST(SqliteStore::code_schema_version() == static_cast<int>(ms.size()));
}

BOOST_AUTO_TEST_CASE(fresh_file_then_reopen) {
  TempDir dir;
  const auto db = dir.file("fresh.db");
  {
    auto s = SqliteStore::open(db);
    BOOST_TEST(s->schema_version() == SqliteStore::code_schema_version());
    s->add_issuer(test::kOperator, test::sample_issuer());
  }
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM schema_version") == std::to_string(SqliteStore::code_schema_version()));
  BOOST_TEST(raw_query(db, "SELECT name FROM schema_version WHERE version = 1") == "0001_initial.sql");
  BOOST_TEST(raw_query(db, "PRAGMA journal_mode") == "wal");
  {
    auto s = SqliteStore::open(db);  // nothing to apply, data kept
    BOOST_TEST(s->schema_version() == SqliteStore::code_schema_version());
    BOOST_TEST(s->find_issuer("acme").has_value());
  }
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM schema_version") == std::to_string(SqliteStore::code_schema_version()));
}

BOOST_AUTO_TEST_CASE(newer_database_is_refused) {
  TempDir dir;
  const auto db = dir.file("newer.db");
  SqliteStore::open(db).reset();
  raw_exec(db, "INSERT INTO schema_version (version, name, applied) VALUES (9999, '9999_future.sql', 'x')");
  try {
    SqliteStore::open(db);
    BOOST_FAIL("a newer database was opened");
  } catch (const StoreError& e) {
    BOOST_TEST(e.code() == StoreErrc::SchemaTooNew);
    BOOST_TEST(std::string(e.what()).find("9999") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(migrations_apply_in_order_and_failures_roll_back) {
  static const Migration good[] = {
      {1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
      {2, "0002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);"},
  };
  static const Migration bad[] = {
      {1, "0001_a.sql", "CREATE TABLE a (x INTEGER);"},
      {2, "0002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1);"},
      {3, "0003_c.sql", "CREATE TABLE c (z INTEGER); INSERT INTO a VALUES (2); THIS IS NOT SQL;"},
  };
  TempDir dir;
  const auto db = dir.file("m.db");
  SqliteOptions o;
  o.migrations = std::span<const Migration>(good, 1);
  SqliteStore::open(db, o).reset();
  BOOST_TEST(raw_query(db, "SELECT max(version) FROM schema_version") == "1");
  o.migrations = std::span<const Migration>(bad);
  BOOST_TEST(error_of([&] { SqliteStore::open(db, o); }) == StoreErrc::Internal);
  // Neither 0002 nor 0003 is half-applied: one transaction for all pending migrations.
  BOOST_TEST(raw_query(db, "SELECT max(version) FROM schema_version") == "1");
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM sqlite_schema WHERE name IN ('b', 'c')") == "0");
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM a") == "0");
  o.migrations = std::span<const Migration>(good);
  SqliteStore::open(db, o).reset();
  BOOST_TEST(raw_query(db, "SELECT max(version) FROM schema_version") == "2");
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM a") == "1");
}

BOOST_AUTO_TEST_CASE(recorded_migration_with_another_name_is_refused) {
  static const Migration other[] = {{1, "0001_other.sql", "CREATE TABLE a (x INTEGER);"}};
  TempDir dir;
  const auto db = dir.file("o.db");
  SqliteOptions o;
  o.migrations = std::span<const Migration>(other);
  SqliteStore::open(db, o).reset();
  BOOST_TEST(error_of([&] { SqliteStore::open(db); }) == StoreErrc::Corrupt);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_database_is_corrupt) {
  TempDir dir;
  const auto db = dir.file("junk.db");
  {
    std::ofstream f(db, std::ios::binary);
    for (int i = 0; i < 512; ++i) f << "this is not an SQLite database. ";
  }
  std::filesystem::permissions(db, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  BOOST_TEST(error_of([&] { SqliteStore::open(db); }) == StoreErrc::Corrupt);
  SqliteOptions ro;
  ro.read_only = true;
  BOOST_TEST(error_of([&] { SqliteStore::open(db, ro); }) == StoreErrc::Corrupt);
}

BOOST_AUTO_TEST_CASE(missing_directory_is_io) {
  TempDir dir;
  BOOST_TEST(error_of([&] { SqliteStore::open(dir.file("no/such/dir/x.db")); }) == StoreErrc::Io);
}

BOOST_AUTO_TEST_CASE(read_only_open_of_an_unmigrated_database_is_refused) {
  TempDir dir;
  const auto db = dir.file("plain.db");
  raw_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE unrelated (x INTEGER)");
  std::filesystem::permissions(db, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  SqliteOptions ro;
  ro.read_only = true;
  BOOST_TEST(error_of([&] { SqliteStore::open(db, ro); }) == StoreErrc::ReadOnly);
  // Once migrated, a read-only open works and reads.
  SqliteStore::open(db).reset();
  auto s = SqliteStore::open(db, ro);
  BOOST_TEST(s->list_issuers().empty());
}

// 0002 re-keys card_counters by (issuer, KDD) and keeps what the releases recorded: each
// (issuer, KDD) with an OK release gets the counter of its latest one; the old per-KDD value
// (overwritten by refusals and by other issuers' TSMs) is not carried over.
BOOST_AUTO_TEST_CASE(counters_from_version_1_are_attributed_to_the_issuers_of_their_releases) {
  const auto all = embedded_migrations();
  BOOST_REQUIRE(all.size() >= 2u);
  TempDir dir;
  const auto db = dir.file("v1.db");
  const std::string k1 = "00000000000000000001", k2 = "00000000000000000002", k3 = "00000000000000000003",
                    k4 = "00000000000000000004";
  {
    SqliteOptions v1;
    v1.migrations = all.subspan(0, 1);
    auto s = SqliteStore::open(db, v1);
    BOOST_REQUIRE(s->schema_version() == 1);
    s->add_issuer(test::kOperator, test::sample_issuer("acme", "42A1B2"));
    s->add_issuer(test::kOperator, test::sample_issuer("beta", "42B0B0"));
    auto release = [&](const std::string& issuer, const std::string& kdd, const std::string& result,
                       nlohmann::json detail) {
      AuditRecord r;
      r.actor = "tsm-" + issuer;
      r.operation = std::string(kOpKeyRelease);
      r.kdd = gp::from_hex(kdd);
      r.issuer = issuer;
      r.result = result;
      r.detail = std::move(detail);
      s->append(r);
    };
    // k1: acme released 5, beta's TSM 0xFFFFFF (the lock-out), acme refused a replay of 3.
    release("acme", k1, "OK", {{"counter", 5}});
    release("beta", k1, "OK", {{"counter", 0xFFFFFF}});
    release("acme", k1, "CounterReplay", {{"counter", 3}, {"counter_anomaly", "backwards"}});
    // k2: acme released 7, then 7 again (flagged, released).
    release("acme", k2, "OK", {{"counter", 7}});
    release("acme", k2, "OK", {{"counter", 7}, {"counter_anomaly", "repeated"}, {"previous_counter", 7}});
    // k3: only a refusal; k4: no record at all.
    release("acme", k3, "NotEntitled", {{"counter", 9}});
    raw_exec(db,
             "INSERT INTO card_counters (kdd, last, highest, anomalies, updated) VALUES"
             " ('" + k1 + "', 3, 16777215, 1, '2026-01-01T00:00:00.000Z'),"
             " ('" + k2 + "', 7, 7, 1, '2026-01-01T00:00:00.000Z'),"
             " ('" + k3 + "', 9, 9, 0, '2026-01-01T00:00:00.000Z'),"
             " ('" + k4 + "', 1, 1, 0, '2026-01-01T00:00:00.000Z')");
  }
  auto s = SqliteStore::open(db);
  BOOST_TEST(s->schema_version() == SqliteStore::code_schema_version());
  BOOST_TEST(raw_query(db, "SELECT name FROM schema_version WHERE version = 2") == "0002_card_counters_per_issuer.sql");
  auto acme1 = s->find_counter("acme", gp::from_hex(k1));
  BOOST_REQUIRE(acme1);
  BOOST_TEST(acme1->last == 5u);  // not the refused 3, not beta's FFFFFF
  BOOST_TEST(acme1->highest == 5u);
  BOOST_TEST(acme1->anomalies == 0u);
  auto beta1 = s->find_counter("beta", gp::from_hex(k1));
  BOOST_REQUIRE(beta1);
  BOOST_TEST(beta1->last == 0xFFFFFFu);
  auto acme2 = s->find_counter("acme", gp::from_hex(k2));
  BOOST_REQUIRE(acme2);
  BOOST_TEST(acme2->last == 7u);
  BOOST_TEST(acme2->anomalies == 1u);
  BOOST_TEST(!s->find_counter("beta", gp::from_hex(k2)));
  BOOST_TEST(!s->find_counter("acme", gp::from_hex(k3)));  // dropped: never released
  BOOST_TEST(!s->find_counter("acme", gp::from_hex(k4)));  // dropped: nothing to attribute it to
  BOOST_TEST(raw_query(db, "SELECT count(*) FROM card_counters") == "3");
  // The acme card is not locked out: its next counter is checked against 5.
  CounterCheck c = s->check_and_record("acme", gp::from_hex(k1), 6);
  BOOST_TEST(c.previous.value_or(0) == 5u);
  BOOST_TEST(counter_anomaly_name(c.anomaly) == std::string("none"));
  BOOST_TEST(s->verify_audit().ok);  // the audit is read, never rewritten
}

BOOST_AUTO_TEST_SUITE_END()
