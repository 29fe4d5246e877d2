// issuer add/list, tsm accredit/revoke/list/grant/ungrant, against a real SQLite file and the
// dev PKI; every refusal exits 1 and is audited with its name.
#include <boost/test/unit_test.hpp>

#include "admin_env.h"

using namespace sekds::test;

namespace {

bool contains(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

// The newest audit record of `op`.
nlohmann::json last_audit(AdminEnv& env, const std::string& op) {
  auto j = env.admin_json({"audit", "list", "--op", op, "--limit", "1"});
  BOOST_REQUIRE(!j["records"].empty());
  return j["records"][0];
}

}  // namespace

BOOST_AUTO_TEST_SUITE(issuer_and_tsm)

BOOST_AUTO_TEST_CASE(issuers_are_added_listed_and_duplicates_refused) {
  AdminEnv env;
  auto added = env.admin_json({"issuer", "add", "--name", "bank-a", "--iin", "a0000001"});
  BOOST_TEST(added["name"] == "bank-a");
  BOOST_TEST(added["iin"] == "A0000001");
  env.admin_json({"issuer", "add", "--name", "bank-b", "--iin", "A0000002"});
  auto list = env.admin_json({"issuer", "list"});
  BOOST_REQUIRE(list["issuers"].size() == 2u);
  BOOST_TEST(list["issuers"][0]["name"] == "bank-a");

  RunResult dup = env.admin({"issuer", "add", "--name", "bank-a", "--iin", "A0000003"});
  BOOST_TEST(dup.rc == 1);
  BOOST_TEST(contains(dup.err, "already exists"));
  BOOST_TEST(last_audit(env, "issuer.add")["result"] == "Conflict");
  RunResult dup_iin = env.admin({"issuer", "add", "--name", "bank-c", "--iin", "A0000002"});
  BOOST_TEST(dup_iin.rc == 1);
  BOOST_TEST(contains(dup_iin.err, "A0000002 already belongs to issuer 'bank-b'"));
  RunResult bad_name = env.admin({"issuer", "add", "--name", "bank/x", "--iin", "01"});
  BOOST_TEST(bad_name.rc == 1);
  BOOST_TEST(last_audit(env, "issuer.add")["result"] == "InvalidArgument");
  RunResult bad_iin = env.admin({"issuer", "add", "--name", "bank-d", "--iin", "XYZ"});
  BOOST_TEST(bad_iin.rc == 1);
  BOOST_TEST(contains(bad_iin.err, "IIN"));
  BOOST_TEST(env.admin_json({"issuer", "list"})["issuers"].size() == 2u);
  // The operator is recorded: the OS user, and --operator when given.
  env.admin_json({"issuer", "add", "--name", "bank-e", "--iin", "0E", "--operator", "carol"});
  const std::string actor = last_audit(env, "issuer.add")["actor"];
  BOOST_TEST(contains(actor, "carol (os user "));
}

BOOST_AUTO_TEST_CASE(accreditation_pins_the_certificate_fingerprint_and_subject) {
  AdminEnv env;
  const Pki& p = pki();
  auto j = env.admin_json({"tsm", "accredit", "--name", "tsm1", "--cert", p.crt("tsm1").string()});
  BOOST_TEST(j["cert_sha256"] == cert_sha256(p.crt("tsm1")));
  BOOST_TEST(contains(j["subject"].get<std::string>(), "CN=tsm1"));
  BOOST_TEST(j["state"] == "accredited");
  auto rec = last_audit(env, "tsm.accredit");
  BOOST_TEST(rec["result"] == "OK");

  // Same name again, or the same certificate under another name: Conflict.
  RunResult again = env.admin({"tsm", "accredit", "--name", "tsm1", "--cert", p.crt("tsm2").string()});
  BOOST_TEST(again.rc == 1);
  BOOST_TEST(last_audit(env, "tsm.accredit")["result"] == "Conflict");
  RunResult same_cert = env.admin({"tsm", "accredit", "--name", "tsm1b", "--cert", p.crt("tsm1").string()});
  BOOST_TEST(same_cert.rc == 1);
  BOOST_TEST(last_audit(env, "tsm.accredit")["result"] == "Conflict");
  BOOST_TEST(env.admin_json({"tsm", "list"})["tsms"].size() == 1u);
}

BOOST_AUTO_TEST_CASE(certificates_that_do_not_qualify_are_refused_and_audited) {
  AdminEnv env;
  const Pki& p = pki();
  struct Case {
    std::string name;
    fs::path cert;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"rogue", p.crt("rogue"), "unable to get local issuer certificate"},
      {"expired", make_certificate(env.dir(), "expired", "tsm-x", CertKind::Expired), "certificate has expired"},
      {"future", make_certificate(env.dir(), "future", "tsm-y", CertKind::NotYetValid), "certificate is not yet valid"},
      {"noeku", make_certificate(env.dir(), "noeku", "tsm-z", CertKind::NoEku), "lacks the clientAuth"},
      {"server", make_certificate(env.dir(), "server", "tsm-s", CertKind::ServerAuthOnly), "unsuitable certificate purpose"},
      {"revoked", p.crt("tsm3"), "certificate revoked"},
      {"ca", p.crt("ca"), "unsuitable certificate purpose"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.name) {
      RunResult r = env.admin({"tsm", "accredit", "--name", c.name, "--cert", c.cert.string()});
      BOOST_TEST(r.rc == 1);
      BOOST_TEST(contains(r.err, c.why), r.err);
      auto rec = last_audit(env, "tsm.accredit");
      BOOST_TEST(rec["result"] == "CertificateRejected");
      BOOST_TEST(rec["detail"]["tsm"] == c.name);
      BOOST_TEST(rec["detail"]["cert_sha256"] == cert_sha256(c.cert));
      BOOST_TEST(contains(rec["detail"]["error"].get<std::string>(), c.why));
    }
  }
  BOOST_TEST(env.admin_json({"tsm", "list"})["tsms"].empty());
  // A file that is not a certificate is a usage error, not a refusal.
  write_file((env.dir() / "junk.crt").string(), "not a certificate\n", 0600);
  BOOST_TEST(env.admin({"tsm", "accredit", "--name", "j", "--cert", (env.dir() / "junk.crt").string()}).rc == 2);
}

BOOST_AUTO_TEST_CASE(grants_revocation_and_unknown_names) {
  AdminEnv env;
  const Pki& p = pki();
  env.admin_json({"issuer", "add", "--name", "bank", "--iin", "01"});
  env.admin_json({"issuer", "add", "--name", "other", "--iin", "02"});
  env.admin_json({"tsm", "accredit", "--name", "tsm1", "--cert", p.crt("tsm1").string()});
  env.admin_json({"tsm", "grant", "--name", "tsm1", "--issuer", "bank"});
  env.admin_json({"tsm", "grant", "--name", "tsm1", "--issuer", "other"});
  auto list = env.admin_json({"tsm", "list"});
  BOOST_TEST(list["tsms"][0]["issuers"].size() == 2u);

  RunResult twice = env.admin({"tsm", "grant", "--name", "tsm1", "--issuer", "bank"});
  BOOST_TEST(twice.rc == 1);
  BOOST_TEST(last_audit(env, "tsm.grant")["result"] == "Conflict");
  RunResult unknown_tsm = env.admin({"tsm", "grant", "--name", "tsm9", "--issuer", "bank"});
  BOOST_TEST(unknown_tsm.rc == 1);
  BOOST_TEST(contains(unknown_tsm.err, "tsm9"));
  BOOST_TEST(last_audit(env, "tsm.grant")["result"] == "NotFound");
  RunResult unknown_issuer = env.admin({"tsm", "grant", "--name", "tsm1", "--issuer", "nobank"});
  BOOST_TEST(unknown_issuer.rc == 1);
  BOOST_TEST(contains(unknown_issuer.err, "nobank"));

  env.admin_json({"tsm", "ungrant", "--name", "tsm1", "--issuer", "other"});
  RunResult not_granted = env.admin({"tsm", "ungrant", "--name", "tsm1", "--issuer", "other"});
  BOOST_TEST(not_granted.rc == 1);
  BOOST_TEST(last_audit(env, "tsm.ungrant")["result"] == "NotFound");
  list = env.admin_json({"tsm", "list"});
  BOOST_TEST(list["tsms"][0]["issuers"] == nlohmann::json::array({"bank"}));

  auto revoked = env.admin_json({"tsm", "revoke", "--name", "tsm1"});
  BOOST_TEST(revoked["state"] == "revoked");
  BOOST_TEST(env.admin({"tsm", "revoke", "--name", "tsm1"}).rc == 1);
  BOOST_TEST(last_audit(env, "tsm.revoke")["result"] != "OK");
  BOOST_TEST(env.admin({"tsm", "revoke", "--name", "ghost"}).rc == 1);
  RunResult human = env.admin({"tsm", "list"});
  BOOST_TEST(contains(human.out, "revoked"));
}

BOOST_AUTO_TEST_SUITE_END()
