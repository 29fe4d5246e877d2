// The command line itself: help for every subcommand, usage errors (exit 2), no way to give a
// PIN on argv, configuration problems named.
#include <boost/test/unit_test.hpp>

#include "admin_env.h"

using namespace sekds::test;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

RunResult bare(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {admin_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, "", env);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(every_subcommand_has_help) {
  const std::vector<std::vector<std::string>> commands = {
      {"init"},          {"issuer", "add"},   {"issuer", "list"},   {"keyset", "import"},  {"keyset", "generate"},
      {"keyset", "list"}, {"tsm", "accredit"}, {"tsm", "revoke"},   {"tsm", "list"},       {"tsm", "grant"},
      {"tsm", "ungrant"}, {"kek", "generate"}, {"kek", "activate"}, {"kek", "retire"},     {"kek", "list"},
      {"audit", "list"},  {"audit", "verify"}, {"component", "show"}, {"component", "combine"},
      {"component", "demo-split"}, {"hsm", "capabilities"}};
  for (const auto& c : commands) {
    std::vector<std::string> args = c;
    args.push_back("--help");
    RunResult r = bare(args);
    BOOST_TEST_CONTEXT(c.back()) {
      BOOST_TEST(r.rc == 0);
      BOOST_TEST(contains(r.out, "Usage:"));
      BOOST_TEST(contains(r.out, c.back()));
    }
  }
  RunResult top = bare({"--help"});
  BOOST_TEST(top.rc == 0);
  BOOST_TEST(contains(top.out, "Exit codes:"));
  BOOST_TEST(contains(top.out, "3  HSM unavailable"));
  RunResult import = bare({"keyset", "import", "--help"});
  BOOST_TEST(contains(import.out, "--component"));
  BOOST_TEST(contains(import.out, "--yes"));
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  BOOST_TEST(bare({}).rc == 2);
  BOOST_TEST(bare({"frobnicate"}).rc == 2);
  BOOST_TEST(bare({"issuer"}).rc == 2);
  BOOST_TEST(bare({"issuer", "add", "--name", "x"}).rc == 2);  // --iin missing
  BOOST_TEST(bare({"kek", "generate", "--tsm", "t", "--out", "/tmp/x", "--custodians", "4"}).rc == 2);
  RunResult r = bare({"issuer", "list"}, {"SEKDS_CONFIG="});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "--config"));
  r = bare({"--config", "/nonexistent/sekds.toml", "issuer", "list"});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "/nonexistent/sekds.toml: cannot open"));
}

// No option takes a PIN: it would end up in the process list and shell history.
BOOST_AUTO_TEST_CASE(a_pin_cannot_be_given_on_the_command_line) {
  AdminEnv env;
  for (const std::string opt : {"--pin", "--so-pin", "--user-pin", "--password"}) {
    RunResult r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", (env.dir() / "k").string(), opt, "12345678"});
    BOOST_TEST_CONTEXT(opt) {
      BOOST_TEST(r.rc == 2);
      BOOST_TEST(contains(r.err, "not expected"));
    }
  }
  // The one PIN-related option takes a source, never the PIN itself.
  RunResult r = env.admin({"kek", "generate", "--tsm", "tsm1", "--out", (env.dir() / "k").string(), "--so-pin-source",
                           env.token().so_pin()});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "file:PATH"));
  BOOST_TEST(!contains(r.err, env.token().so_pin()));
  // And the configuration's pin must be a source too.
  write_file(env.config().string(),
             "[hsm]\nmodule = \"/usr/lib/softhsm/libsofthsm2.so\"\ntoken = \"t\"\npin = \"123456\"\n[store]\npath = \"x.db\"\n",
             0600);
  r = env.admin({"init"});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "hsm.pin"));
}

BOOST_AUTO_TEST_CASE(configuration_errors_name_the_key) {
  AdminEnv env;
  write_file(env.config().string(), "[store]\npath = 5\n", 0600);
  RunResult r = env.admin({"issuer", "list"});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "store.path"));
  write_file(env.config().string(), "[store\n", 0600);
  r = env.admin({"issuer", "list"});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "TOML syntax error"));
  write_file(env.config().string(), "[hsm]\nmodule = \"m.so\"\ntoken = \"t\"\npin = \"env:X\"\n", 0600);
  r = env.admin({"issuer", "list"});
  BOOST_TEST(r.rc == 2);
  BOOST_TEST(contains(r.err, "store.path: missing"));
}

BOOST_AUTO_TEST_CASE(json_errors_are_json) {
  AdminEnv env;
  RunResult r = env.admin({"tsm", "revoke", "--name", "nobody", "--json"});
  BOOST_TEST(r.rc == 1);
  auto j = nlohmann::json::parse(r.out);
  BOOST_TEST(j["error"]["name"] == "NotFound");
  BOOST_TEST(j["exit_code"] == 1);
}

BOOST_AUTO_TEST_CASE(init_reports_versions_and_is_repeatable) {
  AdminEnv env;
  auto j = env.admin_json({"init"});
  BOOST_TEST(j["database"]["schema_version"].get<int>() >= 1);
  BOOST_TEST(j["database"]["schema_version"] == j["database"]["code_schema_version"]);
  BOOST_TEST(j["hsm"]["label"] == env.token().label());
  BOOST_TEST(j["hsm"]["login"] == "USER");
  BOOST_TEST(!j["hsm"]["serial"].get<std::string>().empty());
  auto again = env.admin_json({"init"});
  BOOST_TEST(again["audit_id"].get<int>() > j["audit_id"].get<int>());
  RunResult human = env.admin({"init"});
  BOOST_TEST(human.rc == 0);
  BOOST_TEST(contains(human.out, "USER login OK"));
}

BOOST_AUTO_TEST_CASE(init_with_a_wrong_pin_or_missing_token_is_hsm_unavailable) {
  AdminEnv env;
  write_file((env.dir() / "wrong.pin").string(), "999999\n", 0600);
  std::string cfg = read_text(env.config());
  std::string wrong = cfg;
  wrong.replace(wrong.find(env.token().user_pin_source()), env.token().user_pin_source().size(),
                "file:" + (env.dir() / "wrong.pin").string());
  write_file(env.config().string(), wrong, 0600);
  RunResult r = env.admin({"init"});
  BOOST_TEST(r.rc == 3);
  BOOST_TEST(contains(r.err, "CKR_PIN_INCORRECT"));
  std::string missing = cfg;
  missing.replace(missing.find("token = \"admin-test\""), 20, "token = \"no-such-token\"");
  write_file(env.config().string(), missing, 0600);
  r = env.admin({"init"});
  BOOST_TEST(r.rc == 3);
  // A failed init is audited (the database was opened first).
  write_file(env.config().string(), cfg, 0600);
  auto list = env.admin_json({"audit", "list", "--op", "admin.init"});
  BOOST_TEST(list["records"].size() == 2u);
  BOOST_TEST(list["records"][0]["result"] != "OK");
}

BOOST_AUTO_TEST_SUITE_END()
