// audit list (filters) and audit verify (a record edited with the sqlite3 shell is detected
// and named; the chain head is printed).
#include <boost/test/unit_test.hpp>

#include "admin_env.h"

using namespace sekds::test;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

struct Env : AdminEnv {
  Env() {
    admin_json({"init"});
    admin_json({"issuer", "add", "--name", "bank", "--iin", "01"});
    admin_json({"issuer", "add", "--name", "other", "--iin", "02", "--operator", "dave"});
    admin({"issuer", "add", "--name", "bank", "--iin", "03"});  // refused: audited
    admin_json({"tsm", "accredit", "--name", "tsm1", "--cert", pki().crt("tsm1").string()});
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(audit)

BOOST_AUTO_TEST_CASE(list_filters_and_orders) {
  Env env;
  auto all = env.admin_json({"audit", "list"});
  BOOST_REQUIRE(all["records"].size() == 5u);
  BOOST_TEST(all["records"][0]["seq"] == 5);  // newest first
  BOOST_TEST(all["records"][0]["operation"] == "tsm.accredit");
  auto oldest = env.admin_json({"audit", "list", "--oldest-first", "--limit", "2"});
  BOOST_REQUIRE(oldest["records"].size() == 2u);
  BOOST_TEST(oldest["records"][0]["seq"] == 1);
  auto issuers = env.admin_json({"audit", "list", "--op", "issuer.add"});
  BOOST_TEST(issuers["records"].size() == 3u);
  auto refused = env.admin_json({"audit", "list", "--result", "Conflict"});
  BOOST_REQUIRE(refused["records"].size() == 1u);
  BOOST_TEST(refused["records"][0]["issuer"] == "bank");
  BOOST_TEST(contains(refused["records"][0]["detail"]["error"].get<std::string>(), "already exists"));
  // --tsm selects by actor: the key releases of a TSM, or here an operator's actions.
  const std::string dave = env.admin_json({"audit", "list", "--op", "issuer.add", "--result", "OK", "--limit", "1"})["records"][0]["actor"];
  BOOST_TEST(contains(dave, "dave (os user "));
  auto by_actor = env.admin_json({"audit", "list", "--tsm", dave});
  BOOST_TEST(by_actor["records"].size() == 1u);
  BOOST_TEST(env.admin_json({"audit", "list", "--since", "2999-01-01"})["records"].empty());
  BOOST_TEST(env.admin_json({"audit", "list", "--since", "2000-01-01"})["records"].size() == 5u);
  BOOST_TEST(env.admin_json({"audit", "list", "--card", "00010203040506070809"})["records"].empty());
  BOOST_TEST(env.admin({"audit", "list", "--card", "0001"}).rc == 2);
  BOOST_TEST(env.admin({"audit", "list", "--since", "yesterday"}).rc == 2);
  BOOST_TEST(env.admin({"audit", "list", "--limit", "0"}).rc == 2);
  RunResult human = env.admin({"audit", "list"});
  BOOST_TEST(human.rc == 0);
  BOOST_TEST(contains(human.out, "SEQ"));
  BOOST_TEST(contains(human.out, "tsm.accredit"));
}

BOOST_AUTO_TEST_CASE(verify_reports_ok_and_the_chain_head) {
  Env env;
  auto v = env.admin_json({"audit", "verify"});
  BOOST_TEST(v["ok"] == true);
  BOOST_TEST(v["records_checked"] == 5);
  BOOST_TEST(v["head"]["seq"] == 5);
  const std::string head = env.sql("SELECT hash FROM audit WHERE seq = 5;");
  BOOST_TEST(v["head"]["hash"].get<std::string>() + "\n" == head);
  RunResult human = env.admin({"audit", "verify"});
  BOOST_TEST(human.rc == 0);
  BOOST_TEST(contains(human.out, "audit chain OK: 5 records"));
  BOOST_TEST(contains(human.out, "chain head: seq 5 hash " + v["head"]["hash"].get<std::string>()));
}

// An operator with the sqlite3 shell turns the refusal (record 4) into a success (the
// append-only trigger is dropped first): verify exits 1 and names record 4 and why.
BOOST_AUTO_TEST_CASE(a_tampered_record_is_detected_and_named) {
  Env env;
  env.sql("DROP TRIGGER audit_no_update; UPDATE audit SET result = 'OK' WHERE seq = 4 AND result = 'Conflict';");
  RunResult r = env.admin({"audit", "verify"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.out, "BROKEN at record 4"), r.out);
  BOOST_TEST(contains(r.out, "ContentMismatch"));
  BOOST_TEST(contains(r.out, "chain head: seq 5"));
  RunResult j = env.admin({"audit", "verify", "--json"});
  BOOST_TEST(j.rc == 1);
  auto v = nlohmann::json::parse(j.out);  // one document, the report
  BOOST_TEST(v["ok"] == false);
  BOOST_TEST(v["first_bad"] == 4);
  BOOST_TEST(v["break"] == "ContentMismatch");
  BOOST_TEST(v["records_checked"] == 3);
}

BOOST_AUTO_TEST_CASE(a_deleted_record_is_detected_and_named) {
  Env env;
  env.sql("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2;");
  auto r = env.admin({"audit", "verify", "--json"});
  BOOST_TEST(r.rc == 1);
  auto v = nlohmann::json::parse(r.out);
  BOOST_TEST(v["first_bad"] == 2);
  BOOST_TEST(v["break"] == "Missing");
}

BOOST_AUTO_TEST_SUITE_END()
