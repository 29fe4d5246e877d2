// KEK rotation on a live server (the acceptance test), on the dev environment:
//   tsm1 fetches a card's keys under KEK 1; the operator generates and activates KEK 2;
//   fetching under 2 works while 1 still works (overlap); KEK 1 is retired; a request under 1
//   now fails with KekNotActive — all without restarting sekds-server.
// Every released key is unwrapped with the KEK value from the custodians' sheets and compared
// with the software diversification of the demo master key (gp::diversify).
#define BOOST_TEST_MODULE sekds_e2e_kek_rotation
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include "admin_env.h"
#include "devenv_support.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_information.h"
#include "gp/keywrap.h"
#include "service/client.h"

using namespace sekds;
using namespace sekds::test;

namespace {

constexpr const char* kIssuer = "demo-scp03-aes128";

struct Card {
  gp::Bytes kdd = gp::from_hex("00112233445566778899");
};

// A card's sequence counter goes up between sessions: each request uses the next value.
gp::Bytes next_counter() {
  static std::uint8_t n = 0;
  ++n;
  return {0x00, 0x00, n};
}

service::GetKeysRequest request_for(const nlohmann::json& key_set, const Card& card, std::uint32_t kek_index) {
  const auto type = *gp::parse_key_type(key_set["key_type"].get<std::string>());
  const auto kvn = key_set["kvn"].get<std::uint8_t>();
  gp::KeyInformation info;
  for (int kid = 1; kid <= 3; ++kid) {
    gp::KeyInformationData d;
    d.key_id = static_cast<std::uint8_t>(kid);
    d.kvn = kvn;
    d.components = {{gp::is_aes(type) ? gp::kKeyTypeAes : gp::kKeyTypeDes, static_cast<std::uint16_t>(gp::key_length(type))}};
    info.keys.push_back(d);
  }
  service::GetKeysRequest r;
  r.kdd = card.kdd;
  r.key_information = info.encode();
  r.sequence_counter = next_counter();
  r.kek_index = kek_index;
  r.key_set_version = kvn;
  r.iin = gp::from_hex(key_set["iin"].get<std::string>());
  return r;
}

std::string describe(const service::Result<service::GetKeysResponse>& r) {
  if (auto* f = std::get_if<service::Fault>(&r)) return std::string("fault ") + service::fault_code_name(f->code) + ": " + f->message;
  if (auto* t = std::get_if<service::TransportError>(&r))
    return std::string("transport error ") + service::transport_error_kind_name(t->kind) + ": " + t->message;
  return "keys";
}

// Checks a release against the demo master key and the KEK value.
void check_release(const service::GetKeysResponse& resp, const nlohmann::json& key_set, const Card& card,
                   std::uint32_t kek_index, const nlohmann::json& kek) {
  BOOST_TEST(resp.kek_index == kek_index);
  BOOST_TEST(gp::to_hex(resp.kek_kcv) == kek["kcv"].get<std::string>());
  BOOST_TEST(resp.key_set_version == key_set["kvn"].get<int>());
  const gp::Bytes kek_value = gp::from_hex(kek["value_hex"].get<std::string>());
  const gp::Bytes master = gp::from_hex(key_set["master_key_hex"].get<std::string>());
  const auto method = *gp::parse_method(key_set["method"].get<std::string>());
  const gp::StaticKeys expected = gp::diversify(gp::DiversificationScheme::of(method), master, card.kdd);
  const auto type = *gp::parse_key_type(key_set["key_type"].get<std::string>());
  const std::pair<const service::WrappedKeyOut*, gp::KeyRole> keys[] = {
      {&resp.enc, gp::KeyRole::Enc}, {&resp.mac, gp::KeyRole::Mac}, {&resp.dek, gp::KeyRole::Dek}};
  for (const auto& [w, role] : keys) {
    BOOST_TEST_CONTEXT(gp::key_role_name(role)) {
      const gp::SecureBytes plain = gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, kek_value, w->wrapped_key);
      BOOST_TEST(gp::to_hex(gp::view(plain)) == gp::to_hex(gp::view(expected.of(role))));
      BOOST_TEST(gp::to_hex(w->kcv) == gp::to_hex(gp::kcv(gp::gp_kcv_alg(type), gp::view(plain))));
    }
  }
}

const nlohmann::json& find_kek(const nlohmann::json& manifest, const std::string& tsm, int index) {
  for (const auto& t : manifest["tsms"])
    if (t["name"] == tsm)
      for (const auto& k : t["keks"])
        if (k["index"] == index) return k;
  throw std::runtime_error("no KEK " + std::to_string(index) + " of " + tsm + " in the manifest");
}

}  // namespace

BOOST_AUTO_TEST_CASE(kek_rotation_on_a_live_server) {
  TempDir tmp("sekds-e2e-rotation");
  DevEnv env(fs::path(tmp.path()) / "dev", free_port());
  RunResult up = env.up();
  BOOST_REQUIRE_MESSAGE(up.rc == 0, "dev-env.sh up failed:\n" << up.err);
  nlohmann::json m = env.manifest();
  const pid_t server = m["server"]["pid"].get<pid_t>();
  nlohmann::json key_set;
  for (const auto& k : m["key_sets"])
    if (k["issuer"] == kIssuer) key_set = k;
  BOOST_REQUIRE(!key_set.is_null());
  const Card card;
  service::Client client(env.client_options("tsm1"));

  // 1. A release under KEK 1.
  auto r1 = client.get_diversified_keys(request_for(key_set, card, 1));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<service::GetKeysResponse>(r1),
                        "a release under KEK 1 must work before the rotation; got " << describe(r1)
                            << " (needs the key-release service in sekds-server)");
  check_release(std::get<service::GetKeysResponse>(r1), key_set, card, 1, find_kek(m, "tsm1", 1));

  // 2. The operator makes KEK 2 (ceremony, SO PIN) and activates it; the server keeps running.
  const std::string out = (env.dir() / "keks" / "tsm1").string();
  nlohmann::json gen = env.admin_json({"kek", "generate", "--tsm", "tsm1", "--index", "2", "--out", out,
                                       "--so-pin-source", m["so_pin_source"].get<std::string>()});
  env.admin_json({"kek", "activate", "--tsm", "tsm1", "--index", "2"});
  std::vector<std::string> combine = {"component", "combine", "--reveal"};
  for (const auto& c : gen["components"]) combine.push_back(c["path"]);
  const nlohmann::json kek2_value = env.admin_json(combine);
  nlohmann::json kek2 = {{"kcv", gen["kcv"]}, {"value_hex", kek2_value["keys"][0]["value"]}};

  // 3. Overlap: both indexes work.
  auto r2 = client.get_diversified_keys(request_for(key_set, card, 2));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<service::GetKeysResponse>(r2), "KEK 2 after activation: " << describe(r2));
  check_release(std::get<service::GetKeysResponse>(r2), key_set, card, 2, kek2);
  auto r1b = client.get_diversified_keys(request_for(key_set, card, 1));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<service::GetKeysResponse>(r1b), "KEK 1 during the overlap: " << describe(r1b));
  check_release(std::get<service::GetKeysResponse>(r1b), key_set, card, 1, find_kek(m, "tsm1", 1));

  // 4. Retire KEK 1: a request under it is refused, KEK 2 still works.
  env.admin_json({"kek", "retire", "--tsm", "tsm1", "--index", "1"});
  auto r1c = client.get_diversified_keys(request_for(key_set, card, 1));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<service::Fault>(r1c), "KEK 1 after retirement: " << describe(r1c));
  BOOST_TEST(service::fault_code_name(std::get<service::Fault>(r1c).code) == std::string("KekNotActive"));
  auto r2b = client.get_diversified_keys(request_for(key_set, card, 2));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<service::GetKeysResponse>(r2b), "KEK 2 after retiring 1: " << describe(r2b));
  check_release(std::get<service::GetKeysResponse>(r2b), key_set, card, 2, kek2);

  // The same server process throughout, and every release audited under tsm1.
  BOOST_TEST(::kill(server, 0) == 0);
  BOOST_TEST(env.manifest()["server"]["pid"] == m["server"]["pid"]);
  auto audit = env.admin_json({"audit", "list", "--tsm", "tsm1", "--op", "WSGetDiversifiedKeys"});
  BOOST_TEST(audit["records"].size() >= 4u);
  BOOST_TEST(env.admin_json({"audit", "verify"})["ok"] == true);
}
