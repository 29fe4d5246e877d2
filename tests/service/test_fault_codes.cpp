// Every fault code of the contract reached by a REAL request against the real key release
// (SoftHSM token, SQLite file, mutual TLS), and recovery where the cause is temporary.
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <thread>

#include <nlohmann/json.hpp>

#include "gp/key_information.h"
#include "hsm/labels.h"
#include "test_key_release_fixture.h"

using namespace sekds;
using namespace sekds::test;
using namespace sekds::service;

namespace {

// The 'E0' template of one key set (KIDs 1-3).
gp::Bytes template_of(std::uint8_t kvn, gp::KeyType type) {
  gp::KeyInformation info;
  for (std::uint8_t kid = 1; kid <= 3; ++kid) {
    gp::KeyInformationData d;
    d.key_id = kid;
    d.kvn = kvn;
    d.components = {{gp::is_aes(type) ? gp::kKeyTypeAes : gp::kKeyTypeDes, static_cast<std::uint16_t>(gp::key_length(type))}};
    info.keys.push_back(d);
  }
  return info.encode();
}

// A fault whose message names no internal thing (HSM labels, paths, exception texts).
void check_clean(const Result<GetKeysResponse>& r) {
  if (auto* f = std::get_if<Fault>(&r)) {
    BOOST_TEST(f->message.find("sekds/") == std::string::npos, f->message);
    BOOST_TEST(f->message.find("/tmp") == std::string::npos, f->message);
    BOOST_TEST(f->message.find("CKR_") == std::string::npos, f->message);
  }
}

struct Case {
  std::string name, expect, actor;
  std::function<Result<GetKeysResponse>()> run;
};

std::string healthz(World& w, int* status) {
  auto h = tls_exchange(w.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  *status = h ? h->status : 0;
  if (!h) return "";
  return nlohmann::json::parse(h->body).value("detail", "");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fault_codes)

BOOST_AUTO_TEST_CASE(each_refusal_has_its_code_a_clean_message_and_an_audit_record) {
  World w;
  // A key set recorded in the store whose masters are not in the HSM: Internal.
  w.admin().add_issuer(w.operator_ctx(), {"ghost", "A0000000EE"});
  store::KeySetSpec ghost;
  ghost.issuer = "ghost";
  ghost.kvn = 0x30;
  ghost.scp = 3;
  ghost.key_type = gp::KeyType::Aes128;
  ghost.method = gp::DiversificationMethod::Kdf3;
  const std::string label = hsm::master_key_label("ghost", 0x30, std::nullopt);
  ghost.hsm_labels = {label, label, label};
  ghost.kcvs = {gp::from_hex("010203"), gp::from_hex("010203"), gp::from_hex("010203")};
  ghost.kcv_alg = gp::KcvAlg::AesGp;
  w.admin().add_key_set(w.operator_ctx(), ghost);
  w.admin().grant(w.operator_ctx(), "tsm1", "ghost");

  Client c1 = w.client("tsm1");
  Client c2 = w.client("tsm2");
  const DemoKeySet& emv = w.key_set("demo-scp02-emv");
  const DemoKeySet& aes128 = w.key_set("demo-scp03-aes128");
  const DemoKeySet& aes256 = w.key_set("demo-scp03-aes256");
  auto req = [&](const DemoKeySet& ks, std::uint32_t kek = 1) { return w.request(ks, random_kdd(), kek); };

  std::vector<Case> cases = {
      {"garbage KeyInformation", "InvalidArgument", "tsm1",
       [&] {
         auto r = req(aes128);
         r.key_information = gp::from_hex("0102");
         return c1.get_diversified_keys(r);
       }},
      {"SCP02 counter for an SCP03 key set", "InvalidArgument", "tsm1",
       [&] {
         auto r = req(aes128);
         r.sequence_counter = gp::from_hex("0001");
         return c1.get_diversified_keys(r);
       }},
      {"no IIN and several issuers", "InvalidArgument", "tsm1",
       [&] {
         auto r = req(aes128);
         r.iin.reset();
         return c1.get_diversified_keys(r);
       }},
      // NotEntitled, as for an issuer that exists (issue 19: no IIN oracle); it was UnknownKeySet.
      {"unknown IIN", "NotEntitled", "tsm1",
       [&] {
         auto r = req(aes128);
         r.iin = gp::from_hex("A0000000FF");
         return c1.get_diversified_keys(r);
       }},
      {"unknown key set version", "UnknownKeySet", "tsm1",
       [&] {
         auto r = req(aes128);
         r.key_information = template_of(0x31, gp::KeyType::Aes128);
         r.key_set_version = 0x31;
         return c1.get_diversified_keys(r);
       }},
      {"template says AES-256 for an AES-128 key set", "KeyInformationMismatch", "tsm1",
       [&] {
         auto r = req(aes128);
         r.key_information = template_of(0x30, gp::KeyType::Aes256);
         return c1.get_diversified_keys(r);
       }},
      {"KeySetVersion not in the template", "KeyInformationMismatch", "tsm1",
       [&] {
         auto r = req(aes128);
         r.key_set_version = 0x40;
         return c1.get_diversified_keys(r);
       }},
      {"two key sets and no KeySetVersion", "KeyInformationMismatch", "tsm1",
       [&] {
         auto r = req(aes128);
         gp::Bytes two = template_of(0x30, gp::KeyType::Aes128);
         gp::Bytes other = template_of(0x01, gp::KeyType::Aes128);
         gp::KeyInformation a = gp::KeyInformation::parse(two), b = gp::KeyInformation::parse(other);
         a.keys.insert(a.keys.end(), b.keys.begin(), b.keys.end());
         r.key_information = a.encode();
         r.key_set_version.reset();
         return c1.get_diversified_keys(r);
       }},
      {"issuer not entitled", "NotEntitled", "tsm2", [&] { return c2.get_diversified_keys(req(aes256)); }},
      {"another TSM's KEK index", "UnknownKek", "tsm1", [&] { return c1.get_diversified_keys(req(emv, 7)); }},
      {"KEK without its HSM object", "UnknownKek", "tsm1", [&] { return c1.get_diversified_keys(req(emv, 5)); }},
      {"retired KEK", "KekNotActive", "tsm1", [&] { return c1.get_diversified_keys(req(emv, 2)); }},
      {"pending KEK", "KekNotActive", "tsm1", [&] { return c1.get_diversified_keys(req(emv, 3)); }},
      {"expired KEK", "KekNotActive", "tsm1", [&] { return c1.get_diversified_keys(req(emv, 4)); }},
      {"masters missing in the HSM", "Internal", "tsm1",
       [&] {
         DemoKeySet g = aes128;
         g.issuer = "ghost";
         g.iin = "A0000000EE";
         return c1.get_diversified_keys(req(g));
       }},
      {"revoked TSM", "NotAccredited", "tsm2",
       [&] {
         w.admin().revoke_tsm(w.operator_ctx(), "tsm2");
         return c2.get_diversified_keys(req(aes128));
       }},
  };
  for (const Case& k : cases) {
    BOOST_TEST_CONTEXT(k.name) {
      const std::size_t before = w.audit(k.actor, k.expect, "WSGetDiversifiedKeys").size();
      auto r = k.run();
      BOOST_TEST(fault_of(r) == k.expect, describe(r));
      check_clean(r);
      BOOST_TEST(w.audit(k.actor, k.expect, "WSGetDiversifiedKeys").size() == before + 1);
    }
  }
  BOOST_TEST(w.audit(std::nullopt, "OK", "WSGetDiversifiedKeys").empty());  // nothing was released
  BOOST_TEST(w.admin().verify_audit().ok);
}

BOOST_AUTO_TEST_CASE(an_unknown_certificate_is_not_accredited_until_the_operator_accredits_it) {
  WorldOptions o;
  o.accredit_tsm2 = false;
  World w(o);
  Client c = w.client("tsm2");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  auto r = c.get_diversified_keys(w.request(ks, random_kdd()));
  BOOST_TEST(fault_of(r) == "NotAccredited", describe(r));
  auto refused = w.audit(std::nullopt, "NotAccredited");
  BOOST_REQUIRE(refused.size() == 1u);
  BOOST_TEST(refused.front().actor.rfind("unaccredited ", 0) == 0u, refused.front().actor);
  BOOST_TEST(nlohmann::json::parse(refused.front().detail)["reason"] == "unknown_certificate");
  auto info = c.get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<Fault>(info));
  BOOST_TEST((std::get<Fault>(info).code == FaultCode::NotAccredited));

  // The operator accredits it, grants, and makes a KEK: the next request on the SAME
  // connection is served.
  store::TsmSpec spec;
  spec.name = "tsm2";
  spec.cert_sha256 = refused.front().actor.substr(13);
  spec.subject = "CN=tsm2";
  w.admin().accredit_tsm(w.operator_ctx(), spec);
  w.admin().grant(w.operator_ctx(), "tsm2", ks.issuer);
  store::KekSpec kek;
  kek.tsm = "tsm2";
  kek.index = 1;
  kek.algorithm = gp::KeyType::Aes128;
  kek.kcv = w.kek("tsm2", 1).kcv;
  kek.hsm_label = hsm::kek_label("tsm2", 1);
  w.admin().add_kek(w.operator_ctx(), kek);
  BOOST_TEST(fault_of(c.get_diversified_keys(w.request(ks, random_kdd()))) == "KekNotActive");
  w.admin().activate_kek(w.operator_ctx(), "tsm2", 1);
  const gp::Bytes kdd = random_kdd();
  auto ok = c.get_diversified_keys(w.request(ks, kdd));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(ok), describe(ok));
  w.check_keys(std::get<GetKeysResponse>(ok), ks, kdd, w.kek("tsm2", 1));
}

BOOST_AUTO_TEST_CASE(rate_limited_per_tsm) {
  WorldOptions o;
  o.tweak = [](ServerConfig& c) {
    c.rate_per_tsm = 0.001;  // one token, practically never refilled during the test
    c.rate_burst = 1;
  };
  World w(o);
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp02-emv");
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c.get_diversified_keys(w.request(ks, random_kdd()))));
  auto r = c.get_diversified_keys(w.request(ks, random_kdd()));
  BOOST_TEST(fault_of(r) == "RateLimited", describe(r));
  // Per TSM: tsm2 still has its token.
  auto r2 = w.client("tsm2").get_diversified_keys(w.request(w.key_set("demo-scp03-aes128"), random_kdd()));
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(r2), describe(r2));
}

BOOST_AUTO_TEST_CASE(hsm_unavailable_then_keys_again_without_restart) {
  World w;
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes256");
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c.get_diversified_keys(w.request(ks, random_kdd()))));

  w.token().hide();
  // The HSM layer works from in-memory copies of the masters and KEK and looks at the token
  // again every hsm::Hsm::kWorkingCopyRecheck: from then on the hidden token is missed.
  std::this_thread::sleep_for(hsm::Hsm::kWorkingCopyRecheck + std::chrono::milliseconds(50));
  auto r = c.get_diversified_keys(w.request(ks, random_kdd()));
  BOOST_TEST(fault_of(r) == "HsmUnavailable", describe(r));
  check_clean(r);
  int status = 0;
  BOOST_TEST(healthz(w, &status).find("hsm unavailable") == 0u);
  BOOST_TEST(status == 503);
  auto audited = w.audit("tsm1", "HsmUnavailable");
  BOOST_REQUIRE(!audited.empty());
  BOOST_TEST(nlohmann::json::parse(audited.front().detail)["reason"] == "hsm_unavailable");

  w.token().restore();
  // The reconnect follows the HSM back-off (100 ms here): retry until it is through.
  const gp::Bytes kdd = random_kdd();
  Result<GetKeysResponse> back = Fault{FaultCode::HsmUnavailable, ""};
  BOOST_TEST(eventually([&] {
    back = c.get_diversified_keys(w.request(ks, kdd));
    return std::holds_alternative<GetKeysResponse>(back);
  }), describe(back));
  if (auto* k = std::get_if<GetKeysResponse>(&back)) w.check_keys(*k, ks, kdd, w.kek("tsm1", 1));
  BOOST_TEST(healthz(w, &status) == "hsm ok, store ok");
  BOOST_TEST(status == 200);
}

BOOST_AUTO_TEST_CASE(audit_unavailable_when_the_database_is_full_and_nothing_is_released) {
  WorldOptions o;
  o.service_store.max_size_bytes = 1;  // SQLite keeps the current size as the cap: no growth
  World w(o);
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  std::vector<std::string> released;
  Result<GetKeysResponse> r = Fault{FaultCode::Internal, ""};
  for (int i = 0; i < 1000; ++i) {
    r = c.get_diversified_keys(w.request(ks, random_kdd()));
    if (auto* k = std::get_if<GetKeysResponse>(&r)) released.push_back(k->audit_id);
    else break;
  }
  BOOST_TEST(fault_of(r) == "AuditUnavailable", describe(r));
  check_clean(r);
  // Every answer that carried keys is in the log; the refused one is not.
  const auto ok = w.audit("tsm1", "OK", "WSGetDiversifiedKeys");
  BOOST_TEST(ok.size() == released.size());
  for (const std::string& id : released) BOOST_TEST(w.admin().find_audit(std::stoull(id)).has_value(), id);
  BOOST_TEST(w.admin().verify_audit().ok);
  int status = 0;
  BOOST_TEST(healthz(w, &status) == "hsm ok, store ok");  // reads still work
}

BOOST_AUTO_TEST_CASE(audit_unavailable_while_another_writer_holds_the_database_then_recovery) {
  WorldOptions o;
  o.service_store.busy_timeout_ms = 200;
  World w(o);
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp02-emv");
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c.get_diversified_keys(w.request(ks, random_kdd()))));
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(w.db_path().c_str(), &db) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  const std::size_t before = w.audit("tsm1", "OK").size();
  auto r = c.get_diversified_keys(w.request(ks, random_kdd()));
  BOOST_TEST(fault_of(r) == "AuditUnavailable", describe(r));
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  BOOST_TEST(w.audit("tsm1", "OK").size() == before);
  const gp::Bytes kdd = random_kdd();
  auto back = c.get_diversified_keys(w.request(ks, kdd));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(back), describe(back));
  w.check_keys(std::get<GetKeysResponse>(back), ks, kdd, w.kek("tsm1", 1));
}

BOOST_AUTO_TEST_CASE(counter_replay_when_configured_to_refuse) {
  WorldOptions o;
  o.release.reject_counter_anomaly = true;
  World w(o);
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp02-emv");
  const gp::Bytes kdd = random_kdd();
  auto with_counter = [&](std::uint16_t n) {
    GetKeysRequest r = w.request(ks, kdd);
    r.sequence_counter = gp::SequenceCounter(n, 2).value_bytes();
    return r;
  };
  const GetKeysRequest first = with_counter(5);
  auto a = c.get_diversified_keys(first);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(a), describe(a));
  auto rep = c.get_diversified_keys(with_counter(5));
  BOOST_TEST(fault_of(rep) == "CounterReplay", describe(rep));
  BOOST_TEST(fault_of(c.get_diversified_keys(with_counter(3))) == "CounterReplay");
  // A retry of the first request (same RequestId) is not a replay of the card's counter.
  auto retry = c.get_diversified_keys(first);
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(retry), describe(retry));
  BOOST_TEST(std::get<GetKeysResponse>(retry).audit_id == std::get<GetKeysResponse>(a).audit_id);
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c.get_diversified_keys(with_counter(6))));
  auto refused = w.audit("tsm1", "CounterReplay");
  BOOST_REQUIRE(refused.size() == 2u);
  BOOST_TEST(nlohmann::json::parse(refused[0].detail)["reason"] == "counter_backwards");
  BOOST_TEST(nlohmann::json::parse(refused[1].detail)["reason"] == "counter_repeated");
  BOOST_TEST(w.metrics().sequence_counter_anomalies.value() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
