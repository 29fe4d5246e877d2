// keyset import / generate / list: dual-control imports from component sheets or prompts,
// every check before anything is written, no HSM orphans when the database refuses, and what
// pkcs11-tool sees afterwards.
#include <boost/test/unit_test.hpp>

#include <regex>
#include <tuple>
#include <set>
#include <sstream>

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

std::vector<std::string> with_components(std::vector<std::string> args, const std::vector<std::string>& files) {
  for (const auto& f : files) {
    args.push_back("--component");
    args.push_back(f);
  }
  return args;
}

std::vector<std::string> import_args(const std::string& issuer, unsigned kvn, const std::string& scp,
                                     const std::string& method, const std::string& type) {
  return {"keyset", "import", "--issuer", issuer, "--kvn", std::to_string(kvn), "--scp", scp,
          "--method", method, "--key-type", type};
}

// The combined key of demo sheets, revealed by the lab command, and its KCV recomputed here.
struct Revealed {
  std::string value;
  std::string kcv;
};
Revealed reveal(AdminEnv& env, const std::vector<std::string>& files) {
  std::vector<std::string> args = {"component", "combine", "--reveal"};
  args.insert(args.end(), files.begin(), files.end());
  auto j = env.admin_json(args);
  Revealed r;
  r.value = j["keys"][0]["value"];
  r.kcv = j["keys"][0]["kcv"];
  return r;
}

std::vector<std::string> mk_labels(AdminEnv& env) {
  std::vector<std::string> out;
  for (const auto& l : env.object_labels())
    if (l.rfind("sekds/mk/", 0) == 0) out.push_back(l);
  return out;
}

int key_set_rows(AdminEnv& env) { return std::stoi(env.sql("SELECT count(*) FROM key_sets;")); }

void replace_in_file(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = read_text(path);
  auto p = text.find(from);
  BOOST_REQUIRE_MESSAGE(p != std::string::npos, "'" << from << "' not in " << path);
  text.replace(p, from.size(), to);
  write_file(path, text, 0600);
}

std::string field(const std::string& sheet_path, const std::string& name) {
  std::regex re("(^|\n)" + name + ": ([^\n]*)");
  std::smatch m;
  const std::string text = read_text(sheet_path);
  BOOST_REQUIRE(std::regex_search(text, m, re));
  return m[2];
}

struct Env : AdminEnv {
  Env() {
    admin_json({"init"});
    admin_json({"issuer", "add", "--name", "bank", "--iin", "A000000151"});
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(keyset)

BOOST_AUTO_TEST_CASE(imports_an_emv_des2_key_set_from_two_sheets) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  const Revealed key = reveal(env, files);
  // Independent check of the KCV the sheets carry: 3DES-ECB of zeros under the combined key.
  BOOST_TEST(gp::to_hex(gp::kcv(gp::KcvAlg::Des3Zero, gp::from_hex(key.value))) == key.kcv);

  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  args.push_back("--yes");
  auto j = env.admin_json(args);
  BOOST_TEST(j["kcv"]["enc"] == key.kcv);
  BOOST_TEST(j["kcv"]["dek"] == key.kcv);
  BOOST_TEST(j["kcv_alg"] == "DES3-ECB-ZERO");
  BOOST_TEST(j["i"] == "55");
  BOOST_TEST(j["hsm_labels"]["enc"] == "sekds/mk/bank/32/all");
  BOOST_TEST(j["components"].size() == 2u);
  BOOST_TEST(mk_labels(env) == std::vector<std::string>{"sekds/mk/bank/32/all"});
  auto list = env.admin_json({"keyset", "list"});
  BOOST_REQUIRE(list["key_sets"].size() == 1u);
  BOOST_TEST(list["key_sets"][0]["method"] == "emv");
  BOOST_TEST(list["key_sets"][0]["scp"] == "02");
  auto rec = last_audit(env, "keyset.add");
  BOOST_TEST(rec["result"] == "OK");
  BOOST_TEST(rec["issuer"] == "bank");
  BOOST_TEST(rec["kvn"] == 32);
}

BOOST_AUTO_TEST_CASE(imports_per_role_aes256_from_three_sheets_and_kdf3_aes128) {
  Env env;
  auto files = env.demo_components("bank", 48, "AES256", true, 3);
  auto args = with_components(import_args("bank", 48, "03", "kdf3", "AES256"), files);
  args.push_back("--per-role");
  args.push_back("--yes");
  auto j = env.admin_json(args);
  BOOST_TEST(j["per_role"] == true);
  BOOST_TEST(j["i"] == "70");
  BOOST_TEST(j["kdf_layout"] == "i|000000|k|00|kdd");
  const std::string enc = j["kcv"]["enc"], mac = j["kcv"]["mac"];
  BOOST_TEST(enc == field(files[0], "combined-kcv.enc"));
  BOOST_TEST(mac == field(files[2], "combined-kcv.mac"));
  BOOST_TEST(enc != mac);
  BOOST_TEST(mk_labels(env).size() == 3u);

  env.admin_json({"issuer", "add", "--name", "bank2", "--iin", "A000000152"});
  auto files2 = env.demo_components("bank2", 1, "AES128");
  auto args2 = with_components(import_args("bank2", 1, "03", "kdf3", "AES128"), files2);
  args2.insert(args2.end(), {"--i", "10", "--yes"});
  auto j2 = env.admin_json(args2);
  BOOST_TEST(j2["i"] == "10");
  BOOST_TEST(j2["kcv"]["enc"] == reveal(env, files2).kcv);
}

BOOST_AUTO_TEST_CASE(a_wrong_component_kcv_is_refused_and_nothing_is_written) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  const std::string kcv2 = field(files[1], "component-kcv");
  replace_in_file(files[1], "component-kcv: " + kcv2, std::string("component-kcv: ") + (kcv2 == "000000" ? "000001" : "000000"));
  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  args.push_back("--yes");
  RunResult r = env.admin(args);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "custodian 2 of 2"), r.err);
  BOOST_TEST(contains(r.err, "has KCV " + kcv2));
  auto rec = last_audit(env, "keyset.add");
  BOOST_TEST(rec["result"] == "KcvMismatch");
  BOOST_TEST(rec["detail"]["custodian"] == 2);
  BOOST_TEST(rec["detail"]["kcv_computed"] == kcv2);
  BOOST_TEST(mk_labels(env).empty());
  BOOST_TEST(key_set_rows(env) == 0);

  // A component typed wrongly (value changed, KCV left): the same refusal.
  auto files3 = env.demo_components("bank", 33, "DES2");
  const std::string value = field(files3[0], "component");
  std::string changed = value;
  changed[0] = changed[0] == '0' ? '1' : '0';
  replace_in_file(files3[0], "component: " + value, "component: " + changed);
  auto args3 = with_components(import_args("bank", 33, "02", "emv", "DES2"), files3);
  args3.push_back("--yes");
  BOOST_TEST(env.admin(args3).rc == 1);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "KcvMismatch");
  BOOST_TEST(mk_labels(env).empty());
  BOOST_TEST(key_set_rows(env) == 0);
}

BOOST_AUTO_TEST_CASE(a_wrong_combined_kcv_is_refused_and_nothing_is_written) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  const std::string combined = reveal(env, files).kcv;
  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  args.insert(args.end(), {"--yes", "--combined-kcv", combined == "ABCDEF" ? "ABCDEE" : "ABCDEF"});
  RunResult r = env.admin(args);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "differs from the sheets"), r.err);
  // Sheets without a combined KCV, and a wrong one from the issuer's letter.
  for (const auto& f : files) replace_in_file(f, "combined-kcv: " + combined + "\n", "");
  r = env.admin(args);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "the combined key has KCV " + combined), r.err);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "KcvMismatch");
  BOOST_TEST(mk_labels(env).empty());
  BOOST_TEST(key_set_rows(env) == 0);
  // The right one from the letter is accepted.
  args.back() = combined;
  BOOST_TEST(env.admin(args).rc == 0);
}

BOOST_AUTO_TEST_CASE(refusals_before_the_hsm_is_touched) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  auto run = [&](std::vector<std::string> args, const std::vector<std::string>& comps) {
    args = with_components(args, comps);
    args.push_back("--yes");
    return env.admin(args);
  };
  // Runs one case and checks its exit code and audit record at once.
  struct Cases {
    AdminEnv& env;
    void push_back(std::tuple<std::string, RunResult, int, std::string> c) {
      const auto& [what, r, rc, result] = c;  // result: the audit result ("" = usage error, not audited)
      BOOST_TEST_CONTEXT(what) {
        BOOST_TEST(r.rc == rc, r.err);
        if (!result.empty()) BOOST_TEST(last_audit(env, "keyset.add")["result"] == result);
      }
    }
  } cases{env};
  cases.push_back({"unknown issuer", run(import_args("nobank", 32, "02", "emv", "DES2"), files), 1, "NotFound"});
  cases.push_back({"sheet for another kvn", run(import_args("bank", 31, "02", "emv", "DES2"), files), 1, "ComponentMismatch"});
  cases.push_back({"sheet for another key type", run(import_args("bank", 32, "03", "kdf3", "AES128"), files), 1, "ComponentMismatch"});
  cases.push_back({"method does not fit", run(import_args("bank", 32, "02", "kdf3", "DES2"), files), 1, "InvalidArgument"});
  cases.push_back({"scp does not fit", run(import_args("bank", 32, "03", "emv", "DES2"), files), 1, "InvalidArgument"});
  cases.push_back({"kvn 128", run(import_args("bank", 128, "02", "emv", "DES2"), files), 1, "InvalidArgument"});
  cases.push_back({"per-role flag vs shared sheets", run([] {
                     auto a = import_args("bank", 32, "02", "emv", "DES2");
                     a.push_back("--per-role");
                     return a;
                   }(), files), 1, "ComponentMismatch"});
  cases.push_back({"same sheet twice", run(import_args("bank", 32, "02", "emv", "DES2"), {files[0], files[0]}), 1, "ComponentMismatch"});
  cases.push_back({"one component", run(import_args("bank", 32, "02", "emv", "DES2"), {files[0]}), 2, ""});
  cases.push_back({"bad scp", run(import_args("bank", 32, "04", "emv", "DES2"), files), 2, ""});
  write_file((env.dir() / "junk.txt").string(), "format: sekds-key-component/1\npurpose: kek\n", 0600);
  cases.push_back({"malformed sheet", run(import_args("bank", 32, "02", "emv", "DES2"), {files[0], (env.dir() / "junk.txt").string()}), 1, "BadComponentSheet"});
  BOOST_TEST(mk_labels(env).empty());
  BOOST_TEST(key_set_rows(env) == 0);
  // The sheets are fine: importing them now works, and then the KVN is taken.
  BOOST_TEST(run(import_args("bank", 32, "02", "emv", "DES2"), files).rc == 0);
  RunResult dup = run(import_args("bank", 32, "02", "emv", "DES2"), files);
  BOOST_TEST(dup.rc == 1);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "Conflict");
  BOOST_TEST(mk_labels(env).size() == 1u);
}

BOOST_AUTO_TEST_CASE(without_yes_the_operator_must_confirm) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  RunResult no_answer = env.admin(args);
  BOOST_TEST(no_answer.rc == 1);
  BOOST_TEST(contains(no_answer.err, "[y/N]"));
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "NotConfirmed");
  RunResult declined = env.admin(args, "n\n");
  BOOST_TEST(declined.rc == 1);
  BOOST_TEST(mk_labels(env).empty());
  RunResult accepted = env.admin(args, "y\n");
  BOOST_TEST(accepted.rc == 0, accepted.err);
  // The KCVs were shown before the question.
  BOOST_TEST(contains(accepted.err, "KCV " + field(files[0], "component-kcv")));
  BOOST_TEST(contains(accepted.out, "imported from components"));
}

BOOST_AUTO_TEST_CASE(components_typed_at_the_prompt) {
  Env env;
  auto files = env.demo_components("bank", 32, "AES128");
  const std::string c1 = field(files[0], "component"), k1 = field(files[0], "component-kcv");
  const std::string c2 = field(files[1], "component"), k2 = field(files[1], "component-kcv");
  auto args = import_args("bank", 32, "03", "kdf3", "AES128");
  args.insert(args.end(), {"--component", "-", "--component", "-"});
  // A wrong KCV typed by custodian 2: refused, nothing written.
  RunResult wrong = env.admin(args, c1 + "\n" + k1 + "\n" + c2 + "\n" + "123456\ny\n");
  BOOST_TEST(wrong.rc == 1);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "KcvMismatch");
  BOOST_TEST(mk_labels(env).empty());
  // The components never appear in what the command prints.
  BOOST_TEST(!contains(wrong.err + wrong.out, c1.substr(0, 9)));
  // Input ends early: refused.
  BOOST_TEST(env.admin(args, c1 + "\n").rc == 1);
  // Right: imported, with the KCV of the combination.
  args.push_back("--combined-kcv");
  args.push_back(field(files[0], "combined-kcv"));
  RunResult ok = env.admin(args, c1 + "\n" + k1 + "\n" + c2 + "\n" + k2 + "\ny\n");
  BOOST_TEST(ok.rc == 0, ok.err);
  BOOST_TEST(contains(ok.err, "not echoed"));
  BOOST_TEST(!contains(ok.err + ok.out, c2.substr(0, 9)));
  auto list = env.admin_json({"keyset", "list"});
  BOOST_TEST(list["key_sets"][0]["kcv"]["enc"] == field(files[0], "combined-kcv"));
  // --prompt is the same for every custodian.
  env.admin_json({"issuer", "add", "--name", "bank3", "--iin", "03"});
  auto files3 = env.demo_components("bank3", 5, "AES128");
  auto p = import_args("bank3", 5, "03", "kdf3", "AES128");
  p.insert(p.end(), {"--prompt", "--yes"});
  RunResult prompted = env.admin(p, field(files3[0], "component") + "\n" + field(files3[0], "component-kcv") + "\n" +
                                        field(files3[1], "component") + "\n" + field(files3[1], "component-kcv") + "\n");
  BOOST_TEST(prompted.rc == 0, prompted.err);
}

// The HSM objects are made before the database row; if the database then refuses, the
// objects are destroyed again (the refusal is simulated with a trigger in the database).
BOOST_AUTO_TEST_CASE(a_database_refusal_after_the_hsm_step_leaves_no_orphans) {
  Env env;
  env.sql("CREATE TRIGGER test_refuse BEFORE INSERT ON key_sets BEGIN SELECT RAISE(ABORT, 'test refuses key sets'); END;");
  auto files = env.demo_components("bank", 32, "DES2", true);
  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  args.insert(args.end(), {"--per-role", "--yes"});
  RunResult r = env.admin(args);
  BOOST_TEST(r.rc == 1, r.err);
  BOOST_TEST(contains(r.err, "test refuses key sets"), r.err);
  BOOST_TEST(mk_labels(env).empty());
  BOOST_TEST(key_set_rows(env) == 0);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] != "OK");
  auto gen = import_args("bank", 40, "03", "kdf3", "AES128");
  gen[1] = "generate";
  BOOST_TEST(env.admin(gen).rc == 1);
  BOOST_TEST(mk_labels(env).empty());
  env.sql("DROP TRIGGER test_refuse;");
  BOOST_TEST(env.admin(args).rc == 0);
  BOOST_TEST(mk_labels(env).size() == 3u);
}

// Labels are never reused: an object left in the token (here: its database row deleted by
// hand) makes the next import of that key set refuse, naming the label.
BOOST_AUTO_TEST_CASE(an_existing_hsm_label_is_refused) {
  Env env;
  auto files = env.demo_components("bank", 32, "DES2");
  auto args = with_components(import_args("bank", 32, "02", "emv", "DES2"), files);
  args.push_back("--yes");
  BOOST_TEST(env.admin(args).rc == 0);
  env.sql("DELETE FROM key_sets;");
  RunResult r = env.admin(args);
  BOOST_TEST(r.rc == 1);
  BOOST_TEST(contains(r.err, "sekds/mk/bank/32/all"), r.err);
  BOOST_TEST(last_audit(env, "keyset.add")["result"] == "ObjectExists");
  BOOST_TEST(mk_labels(env).size() == 1u);
}

BOOST_AUTO_TEST_CASE(generate_makes_keys_in_the_hsm_and_prints_kcvs) {
  Env env;
  auto gen = [&](unsigned kvn, const std::string& scp, const std::string& method, const std::string& type, bool per_role) {
    std::vector<std::string> a = {"keyset", "generate", "--issuer", "bank", "--kvn", std::to_string(kvn), "--scp", scp,
                                  "--method", method, "--key-type", type};
    if (per_role) a.push_back("--per-role");
    return env.admin_json(a);
  };
  auto a = gen(1, "02", "visa2", "DES2", false);
  BOOST_TEST(a["kcv"]["enc"].get<std::string>().size() == 6u);
  auto b = gen(2, "03", "scp03kdf", "AES192", true);
  BOOST_TEST(b["kdf_layout"] == "0000000000000000000000|k|00|L|i|kdd");
  BOOST_TEST(b["kcv"]["enc"] != b["kcv"]["mac"]);
  auto c = gen(3, "03", "none", "AES128", false);
  BOOST_TEST(c["method"] == "none");
  RunResult human = env.admin({"keyset", "generate", "--issuer", "bank", "--kvn", "4", "--scp", "03", "--method",
                               "kdf3", "--key-type", "AES256"});
  BOOST_TEST(human.rc == 0);
  BOOST_TEST(contains(human.out, "sekds/mk/bank/4/all  KCV "));
  BOOST_TEST(env.admin_json({"keyset", "list", "--issuer", "bank"})["key_sets"].size() == 4u);
  BOOST_TEST(env.admin_json({"keyset", "list", "--issuer", "other"})["key_sets"].empty());
}

// What pkcs11-tool (OpenSC, not our code) sees after imports: the documented labels, every
// secret key sensitive and never extractable, masters usable for derive only.
BOOST_AUTO_TEST_CASE(pkcs11_tool_shows_labels_sensitive_never_extractable) {
  Env env;
  auto des = env.demo_components("bank", 32, "DES2");
  auto a = with_components(import_args("bank", 32, "02", "emv", "DES2"), des);
  a.push_back("--yes");
  BOOST_TEST(env.admin(a).rc == 0);
  auto aes = env.demo_components("bank", 48, "AES256", true, 3);
  auto b = with_components(import_args("bank", 48, "03", "kdf3", "AES256"), aes);
  b.insert(b.end(), {"--per-role", "--yes"});
  BOOST_TEST(env.admin(b).rc == 0);
  auto none = env.demo_components("bank", 50, "AES128");
  auto c = with_components(import_args("bank", 50, "03", "none", "AES128"), none);
  c.push_back("--yes");
  BOOST_TEST(env.admin(c).rc == 0);

  const std::string objects = env.pkcs11_objects();
  BOOST_TEST_MESSAGE(objects);
  // One block per object: a header line ("Secret Key Object; ...", "Data object 6") and its
  // indented attribute lines.
  std::vector<std::string> blocks;
  {
    std::istringstream in(objects);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      if (line[0] != ' ') blocks.emplace_back();
      if (!blocks.empty()) blocks.back() += line + "\n";
    }
  }
  std::set<std::string> secret_labels, data_labels;
  int data_objects = 0, direct_release = 0;
  for (const auto& blk : blocks) {
    std::smatch m;
    BOOST_REQUIRE(std::regex_search(blk, m, std::regex("label:\\s+'?([^'\\s]+)")));
    const std::string label = m[1];
    if (blk.rfind("Secret Key Object", 0) == 0) {
      secret_labels.insert(label);
      BOOST_TEST_CONTEXT(label) {
        BOOST_TEST(contains(blk, "sensitive"));
        BOOST_TEST(contains(blk, "never extractable"));
        BOOST_TEST(!std::regex_search(blk, std::regex("[:,]\\s+extractable")), "no plain 'extractable' flag");
        BOOST_TEST(std::regex_search(blk, std::regex("Usage:\\s+derive\\s*\n")));
      }
    } else if (blk.rfind("Data object", 0) == 0) {
      // One ceremony record per master; method none adds its direct-release data.
      if (contains(blk, "sekds/ceremony-values")) ++data_objects;
      else BOOST_TEST(label == "sekds/mk/bank/50/all");
      if (!contains(blk, "sekds/ceremony-values")) ++direct_release;
      data_labels.insert(label);
    }
  }
  const std::set<std::string> expected = {"sekds/mk/bank/32/all", "sekds/mk/bank/48/enc", "sekds/mk/bank/48/mac",
                                          "sekds/mk/bank/48/dek", "sekds/mk/bank/50/all"};
  BOOST_TEST(secret_labels == expected);
  BOOST_TEST(data_labels == expected);
  BOOST_TEST(data_objects == 5);
  BOOST_TEST(direct_release == 1);
}

BOOST_AUTO_TEST_SUITE_END()

// `hsm capabilities` reports what the module enforces of the key policy; on SoftHSM 2.6.1 that
// is measured (tests/hsm/test_attacker.cpp): allowed mechanisms enforced, no derive template.
BOOST_AUTO_TEST_CASE(hsm_capabilities_names_the_residual_risk) {
  Env env;
  auto j = env.admin_json({"hsm", "capabilities"});
  BOOST_TEST(j["allowed_mechanisms"] == "enforced");
  BOOST_TEST(j["derive_template"] == "unsupported");
  BOOST_TEST(j["trusted_wrap"] == true);
  BOOST_TEST(j["pin_holder_can_derive_readable_values"] == true);
  auto human = env.admin({"hsm", "capabilities"});
  BOOST_TEST(human.rc == 0);
  BOOST_TEST(contains(human.out, "residual risk"));
}
