// The SQLite grid store: everything the card changes comes back after reopening the file;
// the engine writes only when state changes; the file is private.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "card/card_data.h"
#include "gp/data_objects.h"
#include "card/load_file.h"
#include "card/sqlite_card_store.h"
#include "card_fixture.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(persistence)

BOOST_AUTO_TEST_CASE(state_survives_reopening) {
  TempDir dir("sekds-card-test");
  const std::string db = dir.path() + "/grid.db";
  card::CardState original = make_state(CardSpec{gp::Scp::Scp03, 0x70, 0x30}, gp::from_hex("01020304"));
  original.key_sets[0x31] = card::KeySet{0x31, gp::KeyType::Aes256, {gp::random_secure(32), gp::random_secure(32), gp::random_secure(32)}, 77};
  card::LoadFile f;
  f.aid = gp::from_hex("A0000001515350");
  f.version = {1, 2};
  f.modules = {gp::from_hex("A000000151535041"), gp::from_hex("A000000151535042")};
  f.size = 1234;
  original.registry.load_files.push_back(f);
  original.registry.applications.push_back(
      card::Application{gp::from_hex("A00000015153504101"), f.aid, f.modules[0], {0x00, 0x00, 0x00}, card::lifecycle::kSelectable});
  int slot = 0;
  {
    card::SqliteCardStore store(db);
    std::vector<card::CardState> cards{original, make_state(CardSpec{gp::Scp::Scp02, 0x15}, gp::from_hex("05060708"))};
    store.add_cards(cards);
    BOOST_TEST(cards[0].slot == 1);
    BOOST_TEST(cards[1].slot == 2);
    slot = cards[0].slot;
    store.save_counter(slot, 0x30, 5);
    store.append_store_data(slot, gp::from_hex("DEADBEEF"));
    store.append_store_data(slot, gp::from_hex("CAFE"));
    BOOST_CHECK_THROW(store.save_counter(slot, 0x55, 1), card::CardStoreError);  // no such key set
    // Unique IC serial numbers and KDDs are enforced by the file too.
    std::vector<card::CardState> dup{make_state(CardSpec{}, gp::from_hex("01020304"))};
    BOOST_CHECK_THROW(store.add_cards(dup), card::CardStoreError);
    BOOST_TEST(store.ic_serial_exists(gp::from_hex("05060708")));
    BOOST_TEST(!store.ic_serial_exists(gp::from_hex("0506070A")));
  }
  struct stat st {};
  BOOST_REQUIRE(::stat(db.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);

  card::SqliteCardStore store(db);
  const auto cards = store.load_all();
  BOOST_REQUIRE(cards.size() == 2u);  // the duplicate was rolled back whole
  const auto& c = cards[0];
  BOOST_TEST(c.slot == slot);
  BOOST_TEST(c.identity.kdd == original.identity.kdd);
  BOOST_TEST(c.identity.cplc == original.identity.cplc);
  BOOST_TEST(c.identity.iin == original.identity.iin);
  BOOST_TEST(c.identity.cin == original.identity.cin);
  BOOST_TEST(c.identity.url == original.identity.url);
  BOOST_TEST(c.identity.i == 0x70);
  BOOST_TEST(c.default_kvn == 0x30);
  BOOST_REQUIRE(c.key_sets.size() == 2u);
  BOOST_TEST(c.key_sets.at(0x30).counter == 5u);
  BOOST_TEST(c.key_sets.at(0x31).counter == 77u);
  BOOST_TEST(gp::key_type_name(c.key_sets.at(0x31).type) == "AES256");
  BOOST_TEST(gp::to_hex(gp::view(c.key_sets.at(0x31).keys.dek)) == gp::to_hex(gp::view(original.key_sets.at(0x31).keys.dek)));
  BOOST_TEST((c.registry == original.registry));
  BOOST_REQUIRE(c.store_data.size() == 2u);
  BOOST_TEST(gp::to_hex(c.store_data[1]) == "CAFE");
  BOOST_TEST((cards[1].identity.scp == gp::Scp::Scp02));
}

BOOST_AUTO_TEST_CASE(writes_only_on_state_changes) {
  TestCard t;
  const std::size_t w0 = t.store().writes();
  // Reading and selecting change nothing.
  for (int i = 0; i < 20; ++i) {
    t.send(select_apdu(card::kIsdAid));
    t.send(get_data_apdu(gp::kTagKdd));
    t.send(get_data_apdu(gp::kTagKeyInformationTemplate));
    t.send(get_data_apdu(gp::kTagCplc));
    t.card().reset();
  }
  BOOST_TEST(t.store().writes() == w0);
  const std::uint32_t counter0 = t.card().state().default_key_set()->counter;
  // SCP03 i=70: one write (the counter) per handshake; GET STATUS in the session writes nothing.
  auto host = t.open(0x03);
  BOOST_TEST(t.store().writes() == w0 + 1);
  // inspect() shows the stored state in place (the fuzz target's per-APDU check): the new counter.
  std::size_t inspected = 0;
  t.store().inspect([&](const std::vector<card::CardState>& stored) {
    BOOST_REQUIRE(stored.size() == 1u);
    BOOST_TEST(stored.front().default_key_set()->counter == counter0 + 1);
    BOOST_TEST(stored.front().default_key_set()->counter == t.card().state().default_key_set()->counter);
    ++inspected;
  });
  BOOST_TEST(inspected == 1u);
  for (int i = 0; i < 10; ++i) t.send_secure(*host, get_status_apdu(0x80, 0x02));
  BOOST_TEST(t.store().writes() == w0 + 1);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_grid) {
  TempDir dir("sekds-card-test");
  const std::string path = dir.path() + "/not-a-db";
  write_file(path, std::string(4096, 'x'), 0600);
  BOOST_CHECK_THROW(card::SqliteCardStore{path}, card::CardStoreError);
  BOOST_CHECK_THROW(card::SqliteCardStore{dir.path() + "/missing-dir/grid.db"}, card::CardStoreError);
}

namespace {

unsigned mode_of(const std::string& file) {
  struct stat st {};
  BOOST_REQUIRE_MESSAGE(::stat(file.c_str(), &st) == 0, file);
  return st.st_mode & 07777;
}

// Runs SQL on the file directly, the way another tool (or an older sekds-card) would.
void sql(const std::string& db, const char* statements) {
  sqlite3* h = nullptr;
  BOOST_REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(h, statements, nullptr, nullptr, &err);
  const std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(h);
  BOOST_REQUIRE_MESSAGE(rc == SQLITE_OK, msg);
}

std::string store_error(const std::string& db) {
  try {
    card::SqliteCardStore store(db);
  } catch (const card::CardStoreError& e) {
    return e.what();
  }
  BOOST_FAIL("no error opening " << db);
  return {};
}

class Umask {
 public:
  explicit Umask(mode_t m) : old_(::umask(m)) {}
  ~Umask() { ::umask(old_); }
  Umask(const Umask&) = delete;
  Umask& operator=(const Umask&) = delete;

 private:
  mode_t old_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(management_level_survives_reopening_and_old_files_get_cmac) {
  TempDir dir("sekds-card-test");
  const std::string db = dir.path() + "/grid.db";
  {
    card::SqliteCardStore store(db);
    std::vector<card::CardState> cards{
        make_state(CardSpec{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::None, 0x33}, gp::from_hex("01020304")),
        make_state(CardSpec{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::None, 0x00}, gp::from_hex("05060708"))};
    store.add_cards(cards);
  }
  {
    card::SqliteCardStore store(db);
    const auto cards = store.load_all();
    BOOST_REQUIRE(cards.size() == 2u);
    BOOST_TEST(cards[0].identity.management_level.byte() == 0x33);
    BOOST_TEST(cards[1].identity.management_level.byte() == 0x00);
    // The engine made from the stored state honours it: level 03 is not 33.
    card::Card c(cards[0], nullptr);
    auto host = gp::make_host_session(gp::Scp::Scp03, derive_keys(CardSpec{}, c.state().identity.kdd), {0x70, false, card::kIsdAid});
    gp::open_secure_channel(*host, [&](ByteView b) { return c.transmit(b); }, 0, gp::SecurityLevel(0x03));
    const auto r = gp::transmit_secure(*host, [&](ByteView b) { return c.transmit(b); }, install_for_load_apdu(gp::from_hex("A0000001515350")));
    BOOST_TEST(r.sw == 0x6982);
  }
  // A file of schema version 1 (no management_level): its cards get 01, C-MAC.
  sql(db, "ALTER TABLE card DROP COLUMN management_level; PRAGMA user_version = 1;");
  {
    card::SqliteCardStore store(db);
    const auto cards = store.load_all();
    BOOST_REQUIRE(cards.size() == 2u);
    BOOST_TEST(cards[0].identity.management_level.byte() == 0x01);
    BOOST_TEST(cards[1].identity.management_level.byte() == 0x01);
  }
  {
    card::SqliteCardStore again(db);  // migrated once: opening again changes nothing
    BOOST_TEST(again.load_all().size() == 2u);
  }
  // A stored value that is no security level is refused, naming the slot.
  sql(db, "UPDATE card SET management_level = 7 WHERE slot = 2");
  card::SqliteCardStore store(db);
  try {
    store.load_all();
    BOOST_ERROR("a management level of 07 was loaded");
  } catch (const card::CardStoreError& e) {
    BOOST_TEST(std::string(e.what()).find("slot 2 has management level 7, which is not a security level") != std::string::npos,
               e.what());
  }
}

BOOST_AUTO_TEST_CASE(grid_files_are_created_0600_whatever_the_umask) {
  for (const mode_t m : {mode_t{022}, mode_t{0}, mode_t{0277}}) {
    BOOST_TEST_CONTEXT("umask " << std::oct << m) {
      TempDir dir("sekds-card-test");
      const std::string db = dir.path() + "/grid.db";
      Umask u(m);
      card::SqliteCardStore store(db);
      std::vector<card::CardState> cards{make_state(CardSpec{})};
      store.add_cards(cards);
      store.save_counter(cards[0].slot, cards[0].default_kvn, 3);  // the WAL holds a frame now
      BOOST_TEST(mode_of(db) == 0600u);
      BOOST_TEST(mode_of(db + "-wal") == 0600u);
      BOOST_TEST(mode_of(db + "-shm") == 0600u);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_grid_file_others_can_read_is_refused) {
  TempDir dir("sekds-card-test");
  const std::string db = dir.path() + "/grid.db";
  {
    card::SqliteCardStore store(db);
    std::vector<card::CardState> cards{make_state(CardSpec{})};
    store.add_cards(cards);
  }
  for (const unsigned bad : {0644u, 0640u, 0604u, 0660u}) {
    BOOST_TEST_CONTEXT(std::oct << bad) {
      BOOST_REQUIRE(::chmod(db.c_str(), bad) == 0);
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", bad);
      BOOST_TEST(store_error(db) == "card store " + db + " has mode " + mode + "; group and others must have no access (chmod 600 " +
                                        db + ")");
      BOOST_TEST(mode_of(db) == bad);  // refused, not "fixed" behind the operator's back
    }
  }
  BOOST_REQUIRE(::chmod(db.c_str(), 0600) == 0);
  BOOST_CHECK_NO_THROW(card::SqliteCardStore{db});
  // A -wal or -shm left readable by others (a crash, a copy, another tool) is refused too:
  // SQLite would reuse it as it is.
  for (const char* suffix : {"-wal", "-shm"}) {
    BOOST_TEST_CONTEXT(suffix) {
      const std::string side = db + suffix;
      write_file(side, "", 0644);
      BOOST_TEST(store_error(db).find("card store " + side + " has mode 0644; group and others must have no access (chmod 600 " +
                                      side + ")") == 0u);
      ::unlink(side.c_str());
    }
  }
  BOOST_TEST(card::SqliteCardStore(db).load_all().size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
