// WSGetDiversifiedKeys and WSGetKekInfo for real: a REAL SoftHSM token, a REAL SQLite file,
// REAL mutual TLS on loopback with the dev PKI and the real client (test_key_release_fixture.h).
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "test_key_release_fixture.h"

using namespace sekds;
using namespace sekds::test;
using namespace sekds::service;

namespace {

GetKeysResponse keys_of(const Result<GetKeysResponse>& r) {
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(r), describe(r));
  return std::get<GetKeysResponse>(r);
}

nlohmann::json detail_of(const store::AuditEntry& e) { return nlohmann::json::parse(e.detail); }

std::uint64_t counter_value(Counter& c) { return c.value(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(key_release)

BOOST_AUTO_TEST_CASE(every_demo_key_set_is_released_wrapped_under_the_callers_kek) {
  World w;
  for (int version : {11, 12}) {
    ClientOptions o = w.client_options("tsm1");
    o.soap_version = version;
    Client c(o);
    for (const DemoKeySet& ks : w.key_sets()) {
      BOOST_TEST_CONTEXT(ks.issuer << " SOAP " << version) {
        const gp::Bytes kdd = random_kdd();
        GetKeysRequest req = w.request(ks, kdd);
        const GetKeysResponse& r = keys_of(c.get_diversified_keys(req));
        w.check_keys(r, ks, kdd, w.kek("tsm1", 1));
        // The release record: durable before the answer, with what the audit must say.
        auto rec = w.admin().find_audit(std::stoull(r.audit_id));
        BOOST_REQUIRE(rec.has_value());
        BOOST_TEST(rec->actor == "tsm1");
        BOOST_TEST(rec->operation == "WSGetDiversifiedKeys");
        BOOST_TEST(rec->result == "OK");
        BOOST_TEST(gp::to_hex(*rec->kdd) == gp::to_hex(kdd));
        BOOST_TEST(*rec->issuer == ks.issuer);
        BOOST_TEST(*rec->kvn == ks.kvn);
        BOOST_TEST(*rec->kek_index == 1u);
        BOOST_TEST(*rec->request_id == *req.request_id);
        auto d = detail_of(*rec);
        BOOST_TEST(d["counter"].get<std::uint32_t>() == gp::read_be(gp::view(req.sequence_counter)));
        BOOST_TEST(d["key_type"] == gp::key_type_name(ks.type));
        BOOST_TEST(!d.contains("counter_anomaly"));
        // No key material in the audit record.
        for (const WrappedKeyOut* k : {&r.enc, &r.mac, &r.dek})
          BOOST_TEST(rec->detail.find(gp::to_hex(k->wrapped_key)) == std::string::npos);
      }
    }
  }
  // tsm2 under its own AES-128 KEK.
  Client c2 = w.client("tsm2");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  const gp::Bytes kdd = random_kdd();
  w.check_keys(keys_of(c2.get_diversified_keys(w.request(ks, kdd))), ks, kdd, w.kek("tsm2", 1));
  BOOST_TEST(w.admin().verify_audit().ok);
  BOOST_TEST(w.metrics().key_releases.with({"released"}).value() == 7u);
  BOOST_TEST(w.metrics().hsm_seconds.with({"derive_and_wrap"}).count() == 7u);
  BOOST_TEST(w.metrics().audit_append_seconds.count() == 7u);
  BOOST_TEST(w.metrics().audit_batch_size.count() >= 1u);
}

BOOST_AUTO_TEST_CASE(without_iin_the_tsms_only_issuer_is_used) {
  World w;
  Client c = w.client("tsm2");  // entitled to the AES-128 issuer only
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  const gp::Bytes kdd = random_kdd();
  GetKeysRequest req = w.request(ks, kdd);
  req.iin.reset();
  req.key_set_version.reset();  // one key set in 'E0': no need to name it
  w.check_keys(keys_of(c.get_diversified_keys(req)), ks, kdd, w.kek("tsm2", 1));
  // tsm1 has three issuers: it must say which.
  Client c1 = w.client("tsm1");
  GetKeysRequest req1 = w.request(ks, kdd);
  req1.iin.reset();
  auto r = c1.get_diversified_keys(req1);
  BOOST_TEST(fault_of(r) == "InvalidArgument");
  BOOST_TEST(describe(r).find("IssuerIdentificationNumber is required") != std::string::npos, describe(r));
}

BOOST_AUTO_TEST_CASE(kek_info_lists_the_callers_own_keks) {
  World w;
  Client c1 = w.client("tsm1");
  auto k1 = c1.get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<std::vector<KekInfo>>(k1));
  const auto& list = std::get<std::vector<KekInfo>>(k1);
  BOOST_REQUIRE(list.size() == 5u);
  const char* states[] = {"active", "retired", "pending", "active", "active"};
  for (std::size_t i = 0; i < list.size(); ++i) {
    BOOST_TEST(list[i].index == i + 1);
    BOOST_TEST(list[i].state == states[i]);
    BOOST_TEST(gp::to_hex(list[i].kcv) == gp::to_hex(w.kek("tsm1", static_cast<std::uint32_t>(i + 1)).kcv));
  }
  BOOST_TEST(list[0].algorithm == "AES256");
  BOOST_TEST(list[1].algorithm == "AES128");
  BOOST_TEST(list[3].valid_until.has_value());
  BOOST_TEST(!list[0].valid_until.has_value());
  auto k2 = w.client("tsm2").get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<std::vector<KekInfo>>(k2));
  BOOST_REQUIRE(std::get<std::vector<KekInfo>>(k2).size() == 2u);
  BOOST_TEST(std::get<std::vector<KekInfo>>(k2)[1].index == 7u);
}

BOOST_AUTO_TEST_CASE(same_request_id_gets_the_same_answer_and_one_record) {
  World w;
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp02-emv");
  const gp::Bytes kdd = random_kdd();
  const GetKeysRequest req = w.request(ks, kdd);
  const GetKeysResponse first = keys_of(c.get_diversified_keys(req));
  // A retry on a fresh connection (the TSM lost the answer).
  Client again = w.client("tsm1");
  const GetKeysResponse second = keys_of(again.get_diversified_keys(req));
  BOOST_TEST(second.audit_id == first.audit_id);
  BOOST_TEST(gp::to_hex(second.enc.wrapped_key) == gp::to_hex(first.enc.wrapped_key));
  BOOST_TEST(gp::to_hex(second.mac.wrapped_key) == gp::to_hex(first.mac.wrapped_key));
  BOOST_TEST(gp::to_hex(second.dek.wrapped_key) == gp::to_hex(first.dek.wrapped_key));
  BOOST_TEST(gp::to_hex(second.dek.kcv) == gp::to_hex(first.dek.kcv));
  w.check_keys(second, ks, kdd, w.kek("tsm1", 1));
  std::size_t records = 0;
  for (const auto& e : w.audit("tsm1", "OK", "WSGetDiversifiedKeys"))
    if (e.request_id == req.request_id) ++records;
  BOOST_TEST(records == 1u);
  BOOST_TEST(w.metrics().key_releases.with({"replayed"}).value() == 1u);
  BOOST_TEST(counter_value(w.metrics().sequence_counter_anomalies) == 0u);  // a retry is no replay

  // The same RequestId with other inputs: refused, and audited as such.
  GetKeysRequest other = req;
  other.kdd = random_kdd();
  auto r = c.get_diversified_keys(other);
  BOOST_TEST(fault_of(r) == "InvalidArgument");
  BOOST_TEST(describe(r).find("RequestId") != std::string::npos, describe(r));
  auto refused = w.audit("tsm1", "InvalidArgument");
  BOOST_REQUIRE(!refused.empty());
  BOOST_TEST(detail_of(refused.front())["reason"] == "request_id_reused");
  // Another TSM may use the same RequestId: ids are per TSM.
  const DemoKeySet& aes = w.key_set("demo-scp03-aes128");
  GetKeysRequest t2 = w.request(aes, random_kdd());
  t2.request_id = req.request_id;
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(w.client("tsm2").get_diversified_keys(t2)));
}

BOOST_AUTO_TEST_CASE(admin_changes_take_effect_on_the_next_request_without_restart) {
  World w;
  Client c = w.client("tsm2");  // one kept-alive connection throughout
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  auto get = [&] { return c.get_diversified_keys(w.request(ks, random_kdd())); };
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(get()));
  w.admin().ungrant(w.operator_ctx(), "tsm2", ks.issuer);
  BOOST_TEST(fault_of(get()) == "NotEntitled");
  w.admin().grant(w.operator_ctx(), "tsm2", ks.issuer);
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(get()));
  w.admin().set_key_set_state(w.operator_ctx(), ks.issuer, ks.kvn, store::KeySetState::Disabled);
  BOOST_TEST(fault_of(get()) == "UnknownKeySet");
  w.admin().set_key_set_state(w.operator_ctx(), ks.issuer, ks.kvn, store::KeySetState::Active);
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(get()));
  w.admin().retire_kek(w.operator_ctx(), "tsm2", 1);
  BOOST_TEST(fault_of(get()) == "KekNotActive");
  auto under7 = c.get_diversified_keys(w.request(ks, random_kdd(), 7));
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(under7), describe(under7));
  w.admin().revoke_tsm(w.operator_ctx(), "tsm2");
  BOOST_TEST(fault_of(c.get_diversified_keys(w.request(ks, random_kdd(), 7))) == "NotAccredited");
  auto info = c.get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<Fault>(info));
  BOOST_TEST((std::get<Fault>(info).code == FaultCode::NotAccredited));
}

BOOST_AUTO_TEST_CASE(refusals_are_audited_with_their_fault_code) {
  World w;
  Client c1 = w.client("tsm1");
  Client c2 = w.client("tsm2");
  const std::size_t before = w.audit().size();
  // Another TSM's KEK index: tsm2 has 7, tsm1 does not.
  BOOST_TEST(fault_of(c1.get_diversified_keys(w.request(w.key_set("demo-scp03-aes128"), random_kdd(), 7))) == "UnknownKek");
  // An issuer tsm2 is not entitled to.
  BOOST_TEST(fault_of(c2.get_diversified_keys(w.request(w.key_set("demo-scp03-aes256"), random_kdd()))) == "NotEntitled");
  // A retired KEK.
  BOOST_TEST(fault_of(c1.get_diversified_keys(w.request(w.key_set("demo-scp02-emv"), random_kdd(), 2))) == "KekNotActive");
  // A revoked TSM.
  w.admin().revoke_tsm(w.operator_ctx(), "tsm2");
  BOOST_TEST(fault_of(c2.get_diversified_keys(w.request(w.key_set("demo-scp03-aes128"), random_kdd()))) == "NotAccredited");

  auto find = [&](const std::string& actor, const std::string& result) -> std::optional<store::AuditEntry> {
    auto v = w.audit(actor, result, "WSGetDiversifiedKeys");
    if (v.empty()) return std::nullopt;
    return v.front();
  };
  auto unknown_kek = find("tsm1", "UnknownKek");
  BOOST_REQUIRE(unknown_kek.has_value());
  BOOST_TEST(*unknown_kek->kek_index == 7u);
  BOOST_TEST(detail_of(*unknown_kek)["reason"] == "unknown_kek");
  auto not_entitled = find("tsm2", "NotEntitled");
  BOOST_REQUIRE(not_entitled.has_value());
  BOOST_REQUIRE(not_entitled->issuer.has_value());
  BOOST_TEST(*not_entitled->issuer == "demo-scp03-aes256");
  BOOST_TEST(not_entitled->kdd.has_value());
  auto retired = find("tsm1", "KekNotActive");
  BOOST_REQUIRE(retired.has_value());
  BOOST_TEST(detail_of(*retired)["reason"] == "kek_retired");
  auto revoked = find("tsm2", "NotAccredited");
  BOOST_REQUIRE(revoked.has_value());
  BOOST_TEST(detail_of(*revoked)["reason"] == "revoked");
  // tsm2's revocation is itself audited (tsm.revoke): 4 refusals + 1 admin record.
  BOOST_TEST(w.audit().size() == before + 5);
  BOOST_TEST(w.admin().verify_audit().ok);
  BOOST_TEST(w.metrics().refusal_audits.with({"written"}).value() == 4u);
}

BOOST_AUTO_TEST_CASE(a_flood_of_refusals_cannot_fill_the_audit_log) {
  WorldOptions o;
  o.release.refusal_audit_rate = 0.001;  // effectively no refill during the test
  o.release.refusal_audit_burst = 3;
  World w(o);
  Client c = w.client("tsm1");
  for (int i = 0; i < 10; ++i)
    BOOST_TEST(fault_of(c.get_diversified_keys(w.request(w.key_set("demo-scp02-emv"), random_kdd(), 99))) == "UnknownKek");
  BOOST_TEST(w.audit("tsm1", "UnknownKek").size() == 3u);
  BOOST_TEST(w.metrics().refusal_audits.with({"written"}).value() == 3u);
  BOOST_TEST(w.metrics().refusal_audits.with({"dropped"}).value() == 7u);
  // The limit is per caller, and releases are never limited.
  BOOST_TEST(fault_of(w.client("tsm2").get_diversified_keys(w.request(w.key_set("demo-scp03-aes128"), random_kdd(), 99))) ==
             "UnknownKek");
  BOOST_TEST(w.audit("tsm2", "UnknownKek").size() == 1u);
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c.get_diversified_keys(w.request(w.key_set("demo-scp02-emv"), random_kdd()))));
}

BOOST_AUTO_TEST_CASE(a_repeated_or_backwards_counter_is_flagged_and_still_released_by_default) {
  World w;
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes256");
  const gp::Bytes kdd = random_kdd();
  auto with_counter = [&](std::uint32_t n) {
    GetKeysRequest r = w.request(ks, kdd);
    r.sequence_counter = gp::SequenceCounter(n, 3).value_bytes();
    return c.get_diversified_keys(r);
  };
  const GetKeysResponse a = keys_of(with_counter(10));
  const GetKeysResponse b = keys_of(with_counter(10));  // repeated (new RequestId)
  const GetKeysResponse d = keys_of(with_counter(4));   // backwards
  const GetKeysResponse e = keys_of(with_counter(11));  // forward from the highest seen
  BOOST_TEST(!detail_of(*w.admin().find_audit(std::stoull(a.audit_id))).contains("counter_anomaly"));
  auto db = detail_of(*w.admin().find_audit(std::stoull(b.audit_id)));
  BOOST_TEST(db["counter_anomaly"] == "repeated");
  BOOST_TEST(db["previous_counter"] == 10);
  BOOST_TEST(detail_of(*w.admin().find_audit(std::stoull(d.audit_id)))["counter_anomaly"] == "backwards");
  BOOST_TEST(!detail_of(*w.admin().find_audit(std::stoull(e.audit_id))).contains("counter_anomaly"));
  BOOST_TEST(counter_value(w.metrics().sequence_counter_anomalies) == 2u);
  auto card = w.admin().find_counter(ks.issuer, kdd);
  BOOST_REQUIRE(card.has_value());
  BOOST_TEST(card->anomalies == 2u);
  BOOST_TEST(card->highest == 11u);
}

BOOST_AUTO_TEST_CASE(callers_without_a_tsm_certificate_are_refused_at_tls_and_logged) {
  World w;
  const std::size_t before = w.audit().size();
  auto rejected = [&] { return w.metrics().connections_rejected.with({"tls_handshake"}).value(); };
  const auto r0 = rejected();
  const std::string req = soap_post(soap11_envelope("<s:WSPing><s:Message>hi</s:Message></s:WSPing>"));
  for (const char* who : {"", "rogue", "tsm3"}) {  // no certificate, another CA, revoked by the CRL
    BOOST_TEST_CONTEXT(who) {
      TlsClientConfig cfg;
      cfg.who = who;
      auto answer = tls_exchange(w.port(), req, cfg);
      BOOST_TEST((!answer || answer->status == 0));
    }
  }
  BOOST_TEST(eventually([&] { return rejected() >= r0 + 3; }));
  // No identity, so no audit record (the transport logs them, throttled, and counts them).
  BOOST_TEST(w.audit().size() == before);
}

BOOST_AUTO_TEST_CASE(healthz_and_metrics_report_the_release_without_secrets) {
  World w;
  Client c = w.client("tsm1");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes128");
  const GetKeysResponse r = keys_of(c.get_diversified_keys(w.request(ks, random_kdd())));
  auto h = tls_exchange(w.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  BOOST_REQUIRE(h.has_value());
  BOOST_TEST(h->status == 200);
  auto j = nlohmann::json::parse(h->body);
  BOOST_TEST(j["detail"] == "hsm ok, store ok");
  auto m = tls_exchange(w.port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
  BOOST_REQUIRE(m.has_value());
  for (const char* name : {"sekds_hsm_operation_duration_seconds_count{operation=\"derive_and_wrap\"} 1",
                           "sekds_audit_append_duration_seconds_count 1", "sekds_audit_batch_size_count",
                           "sekds_key_releases_total{kind=\"released\"} 1", "sekds_sequence_counter_anomalies_total 0"})
    BOOST_TEST(m->body.find(name) != std::string::npos, name);
  for (const WrappedKeyOut* k : {&r.enc, &r.mac, &r.dek}) {
    BOOST_TEST(m->body.find(gp::to_hex(k->wrapped_key)) == std::string::npos);
    BOOST_TEST(h->body.find(gp::to_hex(k->wrapped_key)) == std::string::npos);
  }
}

BOOST_AUTO_TEST_SUITE_END()
