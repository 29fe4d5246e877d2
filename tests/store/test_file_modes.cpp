// The database, its -wal and -shm files are the service user's alone (issue 19, item 10):
// created 0600 whatever the umask, and an existing file others may access is refused, naming
// the file and its mode.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "store_errors.h"
#include "store_fixture.h"

using namespace sekds;
using namespace sekds::store;
using sekds::test::TempDir;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 01000;  // "missing": no real mode looks like it
  return static_cast<unsigned>(st.st_mode & 07777);
}

// Sets the process umask for the scope of the test.
struct Umask {
  explicit Umask(mode_t m) : old(::umask(m)) {}
  ~Umask() { ::umask(old); }
  mode_t old;
};

// The message of the StoreError `f` throws ("" if none).
template <class F>
std::string refusal_of(F&& f, StoreErrc* code = nullptr) {
  try {
    f();
  } catch (const StoreError& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

// A database, -wal and -shm while a store has it open and has written.
void check_created_0600(mode_t umask_value) {
  TempDir dir;  // before the umask: 0277 would leave a directory no one can create files in
  Umask u(umask_value);
  const auto db = dir.file("sekds.db");
  auto s = SqliteStore::open(db);
  s->add_issuer(test::kOperator, test::sample_issuer());
  s->append(test::sample_release());
  BOOST_TEST(mode_of(db) == 0600u, std::oct << mode_of(db));
  BOOST_TEST(mode_of(db.string() + "-wal") == 0600u, std::oct << mode_of(db.string() + "-wal"));
  BOOST_TEST(mode_of(db.string() + "-shm") == 0600u, std::oct << mode_of(db.string() + "-shm"));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(file_modes)

BOOST_AUTO_TEST_CASE(database_wal_and_shm_are_created_0600_under_umask_022) { check_created_0600(022); }

BOOST_AUTO_TEST_CASE(database_wal_and_shm_are_created_0600_under_umask_000) { check_created_0600(0); }

// A umask that takes the owner's write bit: the service could not write its own database.
BOOST_AUTO_TEST_CASE(database_is_0600_even_when_the_umask_takes_owner_bits) { check_created_0600(0277); }

BOOST_AUTO_TEST_CASE(an_existing_0644_database_is_refused_with_its_name_and_mode) {
  TempDir dir;
  const auto db = dir.file("sekds.db");
  SqliteStore::open(db).reset();
  ::chmod(db.c_str(), 0644);
  for (bool read_only : {false, true}) {
    BOOST_TEST_CONTEXT("read_only " << read_only) {
      SqliteOptions o;
      o.read_only = read_only;
      StoreErrc code = StoreErrc::Internal;
      const std::string what = refusal_of([&] { SqliteStore::open(db, o); }, &code);
      BOOST_TEST(code == StoreErrc::Io, what);
      BOOST_TEST(what.find("database file " + db.string() + " has mode 0644") != std::string::npos, what);
      BOOST_TEST(what.find("chmod 600 " + db.string()) != std::string::npos, what);
    }
  }
  BOOST_TEST(mode_of(db) == 0644u);  // refused, not silently changed
  ::chmod(db.c_str(), 0600);
  BOOST_TEST(SqliteStore::open(db)->schema_version() == SqliteStore::code_schema_version());
}

BOOST_AUTO_TEST_CASE(a_group_readable_database_is_refused) {
  TempDir dir;
  const auto db = dir.file("sekds.db");
  SqliteStore::open(db).reset();
  ::chmod(db.c_str(), 0640);
  const std::string what = refusal_of([&] { SqliteStore::open(db); });
  BOOST_TEST(what.find("has mode 0640") != std::string::npos, what);
}

// A -wal or -shm left with wider access (by an older sekds, or a copy) is refused too.
BOOST_AUTO_TEST_CASE(an_existing_wider_wal_or_shm_is_refused) {
  for (const char* suffix : {"-wal", "-shm"}) {
    BOOST_TEST_CONTEXT(suffix) {
      TempDir dir;
      const auto db = dir.file("sekds.db");
      SqliteStore::open(db).reset();  // the last close removes -wal and -shm
      const std::string side = db.string() + suffix;
      { std::ofstream f(side); }
      ::chmod(side.c_str(), 0644);
      const std::string what = refusal_of([&] { SqliteStore::open(db); });
      BOOST_TEST(what.find(side + " has mode 0644") != std::string::npos, what);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_existing_0600_database_keeps_its_mode_and_data) {
  TempDir dir;
  const auto db = dir.file("sekds.db");
  SqliteStore::open(db)->add_issuer(test::kOperator, test::sample_issuer());
  ::chmod(db.c_str(), 0400);  // owner read-only is not wider: opened (read-only) as before
  SqliteOptions ro;
  ro.read_only = true;
  BOOST_TEST(SqliteStore::open(db, ro)->find_issuer("acme").has_value());
  ::chmod(db.c_str(), 0600);
  BOOST_TEST(SqliteStore::open(db)->find_issuer("acme").has_value());
  BOOST_TEST(mode_of(db) == 0600u);
}

BOOST_AUTO_TEST_CASE(a_path_that_is_not_a_regular_file_is_refused) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("adir"));
  const std::string what = refusal_of([&] { SqliteStore::open(dir.file("adir")); });
  BOOST_TEST(what.find("is not a regular file") != std::string::npos, what);
}

BOOST_AUTO_TEST_SUITE_END()
