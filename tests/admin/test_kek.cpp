// kek generate / activate / retire / list: the ceremony (SO PIN, HSM random components, sheets
// 0600 that combine to the recorded KCV), the lifecycle and its refusals.
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include "admin_env.h"
#include "gp/kcv.h"
#include "gp/key_component.h"

using namespace sekds;
using namespace sekds::test;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

nlohmann::json last_audit(AdminEnv& env, const std::string& op) {
  auto j = env.admin_json({"audit", "list", "--op", op, "--limit", "1"});
  BOOST_REQUIRE(!j["records"].empty());
  return j["records"][0];
}

struct Env : AdminEnv {
  Env() {
    admin_json({"init"});
    admin_json({"tsm", "accredit", "--name", "tsm1", "--cert", pki().crt("tsm1").string()});
  }
  nlohmann::json generate(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"kek", "generate", "--tsm", "tsm1", "--out", (dir() / "kek").string(),
                                  "--so-pin-source", so_pin_source()};
    a.insert(a.end(), extra.begin(), extra.end());
    return admin_json(a);
  }
  std::vector<std::string> kek_labels() {
    std::vector<std::string> out;
    for (const auto& l : object_labels())
      if (l.rfind("sekds/kek/", 0) == 0) out.push_back(l);
    return out;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(kek)

BOOST_AUTO_TEST_CASE(generate_writes_custodian_sheets_that_combine_to_the_recorded_kcv) {
  Env env;
  auto j = env.generate({"--custodians", "3", "--alg", "AES128"});
  BOOST_TEST(j["index"] == 1);
  BOOST_TEST(j["state"] == "pending");
  BOOST_TEST(j["algorithm"] == "AES128");
  BOOST_TEST(j["hsm_label"] == "sekds/kek/tsm1/1");
  BOOST_REQUIRE(j["components"].size() == 3u);
  std::vector<gp::ComponentSheet> sheets;
  for (const auto& c : j["components"]) {
    const std::string path = c["path"];
    struct stat st {};
    BOOST_REQUIRE(::stat(path.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 0777) == 0600u);
    const std::string text = read_text(path);
    BOOST_TEST(contains(text, "custodian " + std::to_string(c["custodian"].get<int>()) + " of 3"));
    BOOST_TEST(contains(text, "TSM tsm1, index 1"));
    BOOST_TEST(contains(text, "KCV convention AES-ECB-01"));
    sheets.push_back(gp::parse_key_component(text));
    gp::check_component_kcvs(sheets.back());
    BOOST_TEST(gp::to_hex(sheets.back().shares[0].kcv) == c["component_kcv"].get<std::string>());
    BOOST_TEST(*sheets.back().kek_index == 1u);
  }
  // The three components XOR to the KEK whose KCV the database and the HSM hold.
  const gp::SecureBytes kek = gp::xor_shares({&sheets[0].shares[0], &sheets[1].shares[0], &sheets[2].shares[0]});
  BOOST_TEST(kek.size() == 16u);
  BOOST_TEST(gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, gp::view(kek))) == j["kcv"].get<std::string>());
  BOOST_TEST(gp::to_hex(*sheets[0].shares[0].combined_kcv) == j["kcv"].get<std::string>());
  auto list = env.admin_json({"kek", "list", "--tsm", "tsm1"});
  BOOST_REQUIRE(list["keks"].size() == 1u);
  BOOST_TEST(list["keks"][0]["kcv"] == j["kcv"]);
  BOOST_TEST(env.kek_labels() == std::vector<std::string>{"sekds/kek/tsm1/1"});
  // pkcs11-tool: the server-side KEK wraps only and is never extractable.
  const std::string objects = env.pkcs11_objects();
  // The key's block, not its check record's (a data object with the same label).
  std::string block;
  for (auto at = objects.find("sekds/kek/tsm1/1"); at != std::string::npos; at = objects.find("sekds/kek/tsm1/1", at + 1))
    if (contains(objects.substr(at, 200), "Usage:")) block = objects.substr(at, 200);
  BOOST_REQUIRE(!block.empty());
  BOOST_TEST(contains(block, "Usage:      wrap\n"));
  BOOST_TEST(contains(block, "never extractable"));
  // The default index is the next one; AES256 by default.
  auto second = env.generate();
  BOOST_TEST(second["index"] == 2);
  BOOST_TEST(second["algorithm"] == "AES256");
  BOOST_TEST(second["components"].size() == 2u);
  BOOST_TEST(last_audit(env, "kek.add")["result"] == "OK");
}

BOOST_AUTO_TEST_CASE(generate_refusals) {
  Env env;
  const std::string out = (env.dir() / "kek").string();
  // No SO PIN source anywhere: usage error; nothing in the HSM.
  RunResult r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "SO PIN"));
  // A wrong SO PIN: the HSM refuses the login.
  write_file((env.dir() / "bad-so.pin").string(), "00000000\n", 0600);
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--so-pin-source", "file:" + (env.dir() / "bad-so.pin").string()});
  BOOST_TEST(r.rc == 3);
  BOOST_TEST(last_audit(env, "kek.add")["result"] == "LoginRefused");
  // A PIN file others may read is refused before it is used.
  write_file((env.dir() / "open-so.pin").string(), env.token().so_pin() + "\n", 0644);
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--so-pin-source", "file:" + (env.dir() / "open-so.pin").string()});
  BOOST_TEST(r.rc == 2);
  // The SO PIN from the environment works too.
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--so-pin-source", "env:SEKDS_TEST_SO_PIN", "--index", "5"},
                "", {"SEKDS_TEST_SO_PIN=" + env.token().so_pin()});
  BOOST_TEST(r.rc == 0, r.err);
  // Unknown TSM; index taken; revoked TSM.
  r = env.admin({"kek", "generate", "--tsm", "tsm9", "--out", out, "--so-pin-source", env.so_pin_source()});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(last_audit(env, "kek.add")["result"] == "NotFound");
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--so-pin-source", env.so_pin_source(), "--index", "5"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(last_audit(env, "kek.add")["result"] == "Conflict");
  BOOST_TEST(env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--alg", "DES2", "--so-pin-source",
                        env.so_pin_source()}).rc == 2);
  env.admin_json({"tsm", "accredit", "--name", "tsm2", "--cert", pki().crt("tsm2").string()});
  env.admin_json({"tsm", "revoke", "--name", "tsm2"});
  r = env.admin({"kek", "generate", "--tsm", "tsm2", "--out", out, "--so-pin-source", env.so_pin_source()});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "revoked"));
  BOOST_TEST(env.kek_labels() == std::vector<std::string>{"sekds/kek/tsm1/5"});
  // Sheets are never overwritten: a leftover sheet stops the ceremony before the HSM.
  write_file(out + "/kek-tsm1-6-custodian-1-of-2.txt", "old\n", 0600);
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", out, "--so-pin-source", env.so_pin_source()});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "exists already"));
  BOOST_TEST(env.kek_labels().size() == 1u);
  // The SO PIN may also come from the configuration ([hsm] so_pin; admin only).
  std::string cfg = read_text(env.config());
  cfg.replace(cfg.find("[store]"), 7, "so_pin = \"" + env.so_pin_source() + "\"\n[store]");
  write_file(env.config().string(), cfg, 0600);
  r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", (env.dir() / "kek2").string(), "--json"});
  BOOST_TEST(r.rc == 0, r.err);
}

// A database refusal after the HSM step: the KEK object and the sheets are removed again.
BOOST_AUTO_TEST_CASE(a_database_refusal_leaves_no_kek_and_no_sheets) {
  Env env;
  env.sql("CREATE TRIGGER test_refuse BEFORE INSERT ON keks BEGIN SELECT RAISE(ABORT, 'test refuses KEKs'); END;");
  RunResult r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", (env.dir() / "kek").string(), "--so-pin-source",
                           env.so_pin_source()});
  BOOST_TEST(r.rc == 1, r.err);
  BOOST_TEST(contains(r.err, "test refuses KEKs"));
  BOOST_TEST(env.kek_labels().empty());
  BOOST_TEST(fs::is_empty(env.dir() / "kek"));
}

BOOST_AUTO_TEST_CASE(lifecycle_and_retiring_the_only_active_kek) {
  Env env;
  env.generate();
  // pending -> retired is not a transition.
  RunResult r = env.admin({"kek", "retire", "--tsm", "tsm1", "--index", "1"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(last_audit(env, "kek.retire")["result"] == "IllegalTransition");
  auto a = env.admin_json({"kek", "activate", "--tsm", "tsm1", "--index", "1"});
  BOOST_TEST(a["state"] == "active");
  BOOST_TEST(!a["activated"].is_null());
  // The only active KEK: refused unless --force.
  r = env.admin({"kek", "retire", "--tsm", "tsm1", "--index", "1"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "only active KEK"));
  auto rec = last_audit(env, "kek.retire");
  BOOST_TEST(rec["result"] == "OnlyActiveKek");
  BOOST_TEST(rec["kek_index"] == 1);
  // With a second active KEK, retiring the first is fine (rotation).
  env.generate();
  env.admin_json({"kek", "activate", "--tsm", "tsm1", "--index", "2"});
  auto ret = env.admin_json({"kek", "retire", "--tsm", "tsm1", "--index", "1"});
  BOOST_TEST(ret["state"] == "retired");
  r = env.admin({"kek", "retire", "--tsm", "tsm1", "--index", "2"});
  BOOST_TEST(r.rc == 1);
  auto forced = env.admin_json({"kek", "retire", "--tsm", "tsm1", "--index", "2", "--force"});
  BOOST_TEST(forced["state"] == "retired");
  BOOST_TEST(last_audit(env, "kek.retire")["result"] == "OK");
  // retired -> active is not a transition; unknown index / TSM.
  BOOST_TEST(env.admin({"kek", "activate", "--tsm", "tsm1", "--index", "1"}).rc == 1);
  BOOST_TEST(env.admin({"kek", "activate", "--tsm", "tsm1", "--index", "9"}).rc == 1);
  BOOST_TEST(last_audit(env, "kek.activate")["result"] == "NotFound");
  BOOST_TEST(env.admin({"kek", "retire", "--tsm", "nobody", "--index", "1"}).rc == 1);
  auto list = env.admin_json({"kek", "list"});
  BOOST_TEST(list["keks"].size() == 2u);
  RunResult human = env.admin({"kek", "list"});
  BOOST_TEST(contains(human.out, "retired"));
}

// A KEK is only activated when its HSM copy is there and has the recorded KCV.
BOOST_AUTO_TEST_CASE(activation_checks_the_hsm_copy) {
  Env env;
  env.generate();
  env.sql("UPDATE keks SET kcv = '000000' WHERE kek_index = 1;");
  RunResult r = env.admin({"kek", "activate", "--tsm", "tsm1", "--index", "1"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(last_audit(env, "kek.activate")["result"] == "KcvMismatch");
  env.generate();
  RunResult d = run_process({"pkcs11-tool", "--module", SoftHsmToken::module_path(), "--token-label", env.token().label(),
                             "--login", "--login-type", "so", "--so-pin", "env:SO", "--delete-object", "--type",
                             "secrkey", "--label", "sekds/kek/tsm1/2"},
                            "", {"SO=" + env.token().so_pin()});
  BOOST_REQUIRE_MESSAGE(d.rc == 0, d.err);
  r = env.admin({"kek", "activate", "--tsm", "tsm1", "--index", "2"});
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(last_audit(env, "kek.activate")["result"] == "ObjectNotFound");
  auto list = env.admin_json({"kek", "list"});
  for (const auto& k : list["keks"]) BOOST_TEST(k["state"] == "pending");
}

BOOST_AUTO_TEST_SUITE_END()
