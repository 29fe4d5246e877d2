// deploy/dev-env.sh: up on a free port in a temp dir, the manifest complete and well-formed
// (KEK and master-key values checked against their KCVs here), the server answers /healthz and
// WSPing with tsm1's certificate (not with the rogue one), `up` again changes nothing, `down`
// stops the server.
#define BOOST_TEST_MODULE sekds_devenv
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <set>

#include "admin_env.h"
#include "devenv_support.h"
#include "gp/kcv.h"
#include "service/client.h"

using namespace sekds;
using namespace sekds::test;

namespace {

bool file_exists(const std::string& p) { return fs::is_regular_file(p); }

unsigned mode_of(const std::string& p) {
  struct stat st {};
  ::stat(p.c_str(), &st);
  return st.st_mode & 0777;
}

}  // namespace

BOOST_AUTO_TEST_CASE(dev_env_up_manifest_healthz_idempotent_down) {
  TempDir tmp("sekds-devenv-test");
  DevEnv env(fs::path(tmp.path()) / "dev", free_port());
  RunResult up = env.up();
  BOOST_REQUIRE_MESSAGE(up.rc == 0, "dev-env.sh up failed:\n" << up.err);
  const nlohmann::json m = env.manifest();

  BOOST_TEST(m["demo_only"] == true);
  BOOST_TEST(m["endpoint"] == "https://localhost:" + std::to_string(env.port()) + "/sekds/v1");
  BOOST_TEST(file_exists(m["ca_cert"]));
  BOOST_TEST(file_exists(m["config"]));
  BOOST_TEST(file_exists(m["softhsm2_conf"]));
  BOOST_TEST(m["server"]["pid"].is_number());
  const pid_t pid = m["server"]["pid"].get<pid_t>();
  BOOST_TEST(::kill(pid, 0) == 0);

  // TSMs: certificates, entitlements, an active KEK 1 whose value matches its KCV.
  BOOST_REQUIRE(m["tsms"].size() == 2u);
  for (const auto& t : m["tsms"]) {
    BOOST_TEST_CONTEXT(t["name"]) {
      BOOST_TEST(file_exists(t["cert"]));
      BOOST_TEST(file_exists(t["key"]));
      BOOST_TEST(t["state"] == "accredited");
      BOOST_TEST(t["cert_sha256"] == cert_sha256(t["cert"].get<std::string>()));
      BOOST_REQUIRE(t["keks"].size() == 1u);
      const auto& k = t["keks"][0];
      BOOST_TEST(k["index"] == 1);
      BOOST_TEST(k["state"] == "active");
      BOOST_TEST(k["algorithm"] == "AES256");
      const gp::Bytes value = gp::from_hex(k["value_hex"].get<std::string>());
      BOOST_TEST(value.size() == 32u);
      BOOST_TEST(gp::to_hex(gp::kcv(gp::KcvAlg::AesGp, value)) == k["kcv"].get<std::string>());
      BOOST_REQUIRE(k["component_files"].size() == 2u);
      for (const auto& f : k["component_files"]) {
        BOOST_TEST(file_exists(f));
        BOOST_TEST(mode_of(f) == 0600u);
      }
    }
  }
  BOOST_TEST(m["tsms"][0]["name"] == "tsm1");
  BOOST_TEST(m["tsms"][0]["issuers"].size() == 3u);
  BOOST_TEST(m["tsms"][1]["issuers"] == nlohmann::json::array({"demo-scp03-aes128"}));
  BOOST_TEST(file_exists(m["rogue"]["cert"]));
  BOOST_TEST(file_exists(m["rogue"]["key"]));

  // Key sets: the three demo kinds, each master key matching its recorded KCV.
  BOOST_REQUIRE(m["key_sets"].size() == 3u);
  std::set<std::string> kinds;
  for (const auto& k : m["key_sets"]) {
    BOOST_TEST_CONTEXT(k["issuer"]) {
      kinds.insert(k["scp"].get<std::string>() + "/" + k["method"].get<std::string>() + "/" + k["key_type"].get<std::string>());
      BOOST_TEST(!k["iin"].get<std::string>().empty());
      BOOST_TEST(k["kvn"].is_number());
      BOOST_TEST(!k["i"].get<std::string>().empty());
      const gp::Bytes master = gp::from_hex(k["master_key_hex"].get<std::string>());
      const auto type = gp::parse_key_type(k["key_type"].get<std::string>());
      BOOST_REQUIRE(type.has_value());
      BOOST_TEST(master.size() == gp::key_length(*type));
      BOOST_TEST(gp::to_hex(gp::kcv(gp::gp_kcv_alg(*type), master)) == k["kcv"].get<std::string>());
    }
  }
  BOOST_TEST(kinds == (std::set<std::string>{"02/emv/DES2", "03/kdf3/AES128", "03/kdf3/AES256"}));

  // The server: /healthz and WSPing with tsm1's certificate; the rogue client is refused.
  const Pki pki_of_env{fs::path(m["ca_cert"].get<std::string>()).parent_path()};
  std::string body;
  BOOST_TEST(https_get(env.port(), "/healthz", pki_of_env.crt("tsm1"), pki_of_env.key("tsm1"), pki_of_env.crt("ca"), &body) == 200);
  BOOST_TEST(body.find("\"status\"") != std::string::npos);
  BOOST_TEST(https_get(env.port(), "/healthz", pki_of_env.crt("rogue"), pki_of_env.key("rogue"), pki_of_env.crt("ca"), &body) == 0);
  {
    service::Client client(env.client_options("tsm1"));
    auto r = client.ping("dev-env");
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<std::string>(r), "WSPing with tsm1's certificate failed");
    BOOST_TEST(std::get<std::string>(r) == "dev-env");
  }

  // Idempotent: the same server keeps running, nothing is added twice.
  RunResult again = env.up();
  BOOST_REQUIRE_MESSAGE(again.rc == 0, again.err);
  const nlohmann::json m2 = env.manifest();
  BOOST_TEST(m2["server"]["pid"] == m["server"]["pid"]);
  BOOST_TEST(m2["key_sets"] == m["key_sets"]);
  BOOST_TEST(m2["tsms"] == m["tsms"]);
  BOOST_TEST(env.admin_json({"keyset", "list"})["key_sets"].size() == 3u);
  BOOST_TEST(env.admin_json({"kek", "list"})["keks"].size() == 2u);
  BOOST_TEST(env.admin_json({"audit", "verify"})["ok"] == true);
  BOOST_TEST(env.status().rc == 0);

  RunResult down = env.down();
  BOOST_TEST(down.rc == 0, down.err);
  BOOST_TEST(::kill(pid, 0) != 0);
  BOOST_TEST(env.status().rc == 3);
  BOOST_TEST(https_get(env.port(), "/healthz", pki_of_env.crt("tsm1"), pki_of_env.key("tsm1"), pki_of_env.crt("ca"), &body) == 0);
}
