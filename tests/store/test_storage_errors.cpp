// Storage failures surface as named errors (the service maps them to AuditUnavailable):
// read-only database, full database, lock held too long.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::error_of;
using sekds::test::kOperator;
using sekds::test::StoreFixture;

namespace {

// Every kind of write fails with `code`, and reports itself as a storage failure.
void expect_writes_fail(Store& s, StoreErrc code) {
  BOOST_TEST(error_of([&] { s.append(test::sample_release()); }) == code);
  BOOST_TEST(error_of([&] { s.check_and_record("acme", test::sample_kdd(), 5); }) == code);
  BOOST_TEST(error_of([&] { s.add_issuer(kOperator, test::sample_issuer("other", "4299")); }) == code);
  BOOST_TEST(error_of([&] { s.revoke_tsm(kOperator, "tsm1"); }) == code);
  try {
    s.append(test::sample_release());
  } catch (const StoreError& e) {
    BOOST_TEST(e.is_storage_failure());
    BOOST_TEST(std::string(e.what()).find("append audit record") != std::string::npos);  // names the operation
  }
}

void seed(Store& s) {
  s.add_issuer(kOperator, test::sample_issuer());
  s.accredit_tsm(kOperator, test::sample_tsm("tsm1", 'A'));
  s.append(test::sample_release());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(storage_errors)

BOOST_AUTO_TEST_CASE(opened_read_only) {
  StoreFixture f;
  seed(*f.store);
  SqliteOptions ro;
  ro.read_only = true;
  auto s = SqliteStore::open(f.db, ro);
  BOOST_TEST(s->find_issuer("acme").has_value());  // reads work
  BOOST_TEST(s->verify_audit().ok);
  expect_writes_fail(*s, StoreErrc::ReadOnly);
  BOOST_TEST(f.store->audit_head().seq == 3u);  // nothing written, nothing audited
}

BOOST_AUTO_TEST_CASE(read_only_file) {
  if (geteuid() == 0) {
    // root ignores file modes; the read_only option above covers the code path.
    BOOST_TEST_MESSAGE("running as root: chmod cannot make the file read-only, skipped");
    return;
  }
  StoreFixture f;
  seed(*f.store);
  f.store.reset();
  std::filesystem::permissions(f.db, std::filesystem::perms::owner_read);
  try {
    auto s = SqliteStore::open(f.db);
    expect_writes_fail(*s, StoreErrc::ReadOnly);
  } catch (const StoreError& e) {
    // Refusing at open is as good, as long as it is named.
    BOOST_TEST_MESSAGE(e.what());
    BOOST_TEST((e.code() == StoreErrc::ReadOnly || e.code() == StoreErrc::Io));
  }
}

BOOST_AUTO_TEST_CASE(database_full) {
  test::TempDir dir;
  SqliteOptions capped;
  capped.max_size_bytes = 192 * 1024;
  auto s = SqliteStore::open(dir.file("full.db"), capped);
  seed(*s);
  AuditRecord big = test::sample_release();
  big.detail = {{"padding", std::string(4000, 'p')}};
  bool full = false;
  for (int i = 0; i < 1000 && !full; ++i) {
    try {
      s->append(big);
    } catch (const StoreError& e) {
      BOOST_TEST(e.name() == std::string("DiskFull"));
      full = true;
    }
  }
  BOOST_REQUIRE(full);
  BOOST_TEST(error_of([&] { s->append(big); }) == StoreErrc::DiskFull);
  BOOST_TEST(s->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(lock_held_too_long_is_busy) {
  SqliteOptions impatient;
  impatient.busy_timeout_ms = 100;
  StoreFixture f(impatient);
  seed(*f.store);
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open(f.db.c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST(error_of([&] { f.store->append(test::sample_release()); }) == StoreErrc::Busy);
  BOOST_TEST(f.store->find_issuer("acme").has_value());  // WAL: readers are not blocked
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  BOOST_TEST(f.store->append(test::sample_release()).seq == 4u);  // recovered, no seq lost
  BOOST_TEST(f.store->verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(error_names) {
  BOOST_TEST(store_errc_name(StoreErrc::DiskFull) == std::string("DiskFull"));
  BOOST_TEST(StoreError(StoreErrc::ReadOnly, "x").is_storage_failure());
  BOOST_TEST(StoreError(StoreErrc::Io, "x").is_storage_failure());
  BOOST_TEST(!StoreError(StoreErrc::Conflict, "x").is_storage_failure());
  BOOST_TEST(!StoreError(StoreErrc::NotFound, "x").is_storage_failure());
}

BOOST_AUTO_TEST_SUITE_END()
