// sekds-server as a child process over a real token and database: SIGTERM under load (every
// answer's AuditId is in the audit log, the chain verifies), and start-up misconfigurations
// reported as ONE line naming the key.
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "test_key_release_fixture.h"

using namespace sekds;
using namespace sekds::test;
using namespace sekds::service;

namespace {

ClientOptions child_client(std::uint16_t port, const std::string& who) {
  const Pki& p = pki();
  ClientOptions o;
  o.endpoint = "https://localhost:" + std::to_string(port) + "/sekds/v1";
  o.certificate = p.crt(who);
  o.private_key = p.key(who);
  o.ca_file = p.crt("ca");
  o.connect_timeout_s = 5;
  o.recv_timeout_s = 30;
  o.send_timeout_s = 30;
  return o;
}

// Runs sekds-server on `toml` (written to dir/bad.toml) and returns its exit status and output.
std::pair<int, std::string> run_server(const TempDir& dir, const std::string& toml) {
  const fs::path conf = dir / "bad.toml";
  std::ofstream(conf) << toml;
  return run_command(std::string(SEKDS_SERVER_BIN) + " --config " + conf.string() + " 2>&1");
}

// The world's child configuration with the log in a file (stderr keeps the one-line error).
std::string with_log_file(std::string toml, const TempDir& dir) {
  const std::string level = "level = \"info\"\n";
  toml.replace(toml.find(level), level.size(), level + "file = \"" + (dir / "json.log").string() + "\"\n");
  return toml;
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  BOOST_REQUIRE_MESSAGE(at != std::string::npos, from);
  return s.replace(at, from.size(), to);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sigterm_audit)

BOOST_AUTO_TEST_CASE(sigterm_under_load_every_answered_audit_id_is_in_the_verified_log) {
  WorldOptions o;
  o.start_server = false;
  World w(o);
  TempDir dir;
  ChildServer child(dir, w.child_toml(), {{"SOFTHSM2_CONF", w.token().conf().string()}});

  std::mutex mu;
  std::vector<std::string> audit_ids;
  std::vector<std::string> faults;
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      Client c(child_client(child.port(), "tsm1"));
      const DemoKeySet& ks = w.key_sets()[static_cast<std::size_t>(t) % w.key_sets().size()];
      World& world = w;
      for (int i = 0; i < 100000; ++i) {
        GetKeysRequest req;
        {
          std::lock_guard lock(mu);  // World::request counts sequence values
          req = world.request(ks, random_kdd());
        }
        auto r = c.get_diversified_keys(req);
        std::lock_guard lock(mu);
        if (auto* k = std::get_if<GetKeysResponse>(&r)) {
          audit_ids.push_back(k->audit_id);
          ++answered;
        } else if (auto* f = std::get_if<Fault>(&r)) {
          faults.push_back(fault_code_name(f->code));
        } else {
          return;  // the server closed: it is shutting down
        }
      }
    });
  }
  BOOST_TEST(eventually([&] { return answered.load() >= 40; }));
  const int rc = child.signal_and_wait(SIGTERM);
  for (auto& t : clients) t.join();
  BOOST_TEST(rc == 0);
  BOOST_TEST(faults.empty(), faults.size() << " faults, first " << (faults.empty() ? "" : faults.front()));
  BOOST_TEST(child.log().find("\"event\":\"audit_flushed\"") != std::string::npos);

  std::vector<store::AuditEntry> ok = w.audit("tsm1", "OK", "WSGetDiversifiedKeys");
  std::vector<std::string> logged;
  for (const auto& e : ok) logged.push_back(std::to_string(e.seq));
  std::sort(logged.begin(), logged.end());
  std::size_t missing = 0;
  for (const std::string& id : audit_ids)
    if (!std::binary_search(logged.begin(), logged.end(), id)) ++missing;
  BOOST_TEST(missing == 0u);
  BOOST_TEST(audit_ids.size() >= 40u);
  // Releases that were answered are in the log; a release may be logged whose answer was cut
  // by the shutdown (then the TSM retries with the same RequestId), never the reverse.
  BOOST_TEST(ok.size() >= audit_ids.size());
  const store::VerifyReport v = w.admin().verify_audit();
  BOOST_TEST(v.ok, v.reason);
}

BOOST_AUTO_TEST_CASE(startup_misconfigurations_are_one_line_naming_the_key) {
  WorldOptions o;
  o.start_server = false;
  World w(o);
  TempDir dir;
  const std::string good = with_log_file(w.child_toml(), dir);
  auto expect_one_line = [&](const std::string& what, const std::string& toml, std::vector<std::string> needles) {
    BOOST_TEST_CONTEXT(what) {
      auto [rc, out] = run_server(dir, toml);
      BOOST_TEST_MESSAGE(what << ": " << out);
      BOOST_TEST(rc == 1, out);
      BOOST_TEST(std::count(out.begin(), out.end(), '\n') == 1, out);
      for (const auto& n : needles) BOOST_TEST(out.find(n) != std::string::npos, "'" << n << "' not in: " << out);
      BOOST_TEST(out.find("123456") == std::string::npos);  // never the PIN
    }
  };

  // Wrong PIN.
  const fs::path wrong_pin = dir / "wrong.pin";
  std::ofstream(wrong_pin) << "654321\n";
  ::chmod(wrong_pin.c_str(), 0600);
  expect_one_line("wrong PIN", replace(good, w.token().user_pin_source(), "file:" + wrong_pin.string()),
                  {"hsm.pin", "CKR_PIN_INCORRECT"});
  // No such token.
  expect_one_line("token not found", replace(good, std::string("token = \"") + ReleaseToken::kLabel + "\"", "token = \"no-such-token\""),
                  {"hsm.token", "no-such-token"});
  // Module missing (caught by the configuration check).
  expect_one_line("module missing", replace(good, ReleaseToken::module(), "/nonexistent/libpkcs11.so"),
                  {"hsm.module", "/nonexistent/libpkcs11.so"});
  // Database missing.
  expect_one_line("database missing", replace(good, w.db_path().string(), (dir / "none.db").string()),
                  {"store.path", "does not exist", "sekds-admin init"});
  // Not a database.
  const fs::path junk = dir / "junk.db";
  std::ofstream(junk) << std::string(8192, 'x');
  fs::permissions(junk, fs::perms::owner_read | fs::perms::owner_write);  // private, as the store requires
  expect_one_line("not a database", replace(good, w.db_path().string(), junk.string()), {"store.path", "Corrupt"});
  // A database migrated by a newer sekds.
  const fs::path newer = dir / "newer.db";
  store::SqliteStore::open(newer).reset();  // a fresh, current database
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(newer.c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, "INSERT INTO schema_version (version, name, applied) VALUES (999, '0999_future', "
                                 "'2030-01-01T00:00:00.000Z')",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  expect_one_line("newer schema", replace(good, w.db_path().string(), newer.string()), {"store.path", "SchemaTooNew"});
  // [hsm] without [store].
  std::string no_store = good.substr(0, good.find("[store]"));
  expect_one_line("hsm without store", no_store, {"store", "both [hsm] and [store]"});

  // And the configuration they were made from starts (then stops on SIGTERM).
  ChildServer ok(dir, w.child_toml(), {{"SOFTHSM2_CONF", w.token().conf().string()}});
  BOOST_TEST(ok.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
