// Issue 19 against the real key release (SoftHSM token, SQLite file, mutual TLS):
//   item 6: card counters per (issuer, KDD), moved only by a release: a TSM entitled to another
//           issuer cannot lock a card out, and a refused request leaves the counter alone;
//   item 8: an unentitled TSM gets the same answer (code, text, HTTP status, body) for an IIN
//           that exists and one that does not, and learns nothing about the issuer's KVNs.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include <set>

#include "gp/data_objects.h"
#include "test_key_release_fixture.h"

using namespace sekds;
using namespace sekds::test;
using namespace sekds::service;

namespace {

GetKeysRequest with_counter(GetKeysRequest r, std::uint32_t n) {
  r.sequence_counter = gp::SequenceCounter(n, r.sequence_counter.size()).value_bytes();
  return r;
}

const Fault& fault_in(const Result<GetKeysResponse>& r) {
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<Fault>(r), describe(r));
  return std::get<Fault>(r);
}

// The request as the SOAP body a TSM would post (element order of the WSDL).
std::string soap_request(const GetKeysRequest& r) {
  std::string inner = "<s:WSGetDiversifiedKeys><s:KeyDiversificationData>" + gp::to_hex(gp::view(r.kdd)) +
                      "</s:KeyDiversificationData><s:KeyInformation>" + gp::to_hex(gp::view(r.key_information)) +
                      "</s:KeyInformation><s:SequenceCounter>" + gp::to_hex(gp::view(r.sequence_counter)) +
                      "</s:SequenceCounter><s:KekIndex>" + std::to_string(r.kek_index) + "</s:KekIndex>";
  if (r.key_set_version) inner += "<s:KeySetVersion>" + std::to_string(*r.key_set_version) + "</s:KeySetVersion>";
  if (r.iin) inner += "<s:IssuerIdentificationNumber>" + gp::to_hex(gp::view(*r.iin)) + "</s:IssuerIdentificationNumber>";
  inner += "</s:WSGetDiversifiedKeys>";
  return soap_post(soap11_envelope(inner));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(key_release_hardening)

// tsm2 is entitled to the AES-128 issuer only. Before, an unknown IIN was UnknownKeySet ("no
// issuer has IssuerIdentificationNumber ...") and a known one NotEntitled: an IIN oracle.
BOOST_AUTO_TEST_CASE(an_unentitled_tsm_cannot_tell_an_existing_iin_from_an_unknown_one) {
  World w;
  Client c2 = w.client("tsm2");
  const DemoKeySet& theirs = w.key_set("demo-scp03-aes256");  // exists, tsm2 not entitled
  const gp::Bytes kdd = random_kdd();
  GetKeysRequest existing = w.request(theirs, kdd);
  GetKeysRequest unknown = existing;
  unknown.iin = gp::from_hex("A0000000FF");  // no issuer has it
  GetKeysRequest unknown_kvn = existing;      // the existing issuer, a KVN it does not have
  unknown_kvn.key_set_version = 0x31;
  unknown_kvn.key_information = w.request(DemoKeySet{theirs.issuer, theirs.iin, 0x31, theirs.scp, theirs.scp_i,
                                                     theirs.type, theirs.method, {}},
                                          kdd)
                                    .key_information;

  const Fault a = fault_in(c2.get_diversified_keys(existing));
  const Fault b = fault_in(c2.get_diversified_keys(unknown));
  const Fault k = fault_in(c2.get_diversified_keys(unknown_kvn));
  BOOST_TEST(fault_code_name(a.code) == std::string("NotEntitled"));
  BOOST_TEST(fault_code_name(b.code) == fault_code_name(a.code));
  BOOST_TEST(b.message == a.message);
  BOOST_TEST(fault_code_name(k.code) == fault_code_name(a.code));
  BOOST_TEST(k.message == a.message);

  // On the wire: same HTTP status, same body.
  TlsClientConfig as_tsm2;
  as_tsm2.who = "tsm2";
  auto ha = tls_exchange(w.port(), soap_request(existing), as_tsm2);
  auto hb = tls_exchange(w.port(), soap_request(unknown), as_tsm2);
  BOOST_REQUIRE(ha.has_value());
  BOOST_REQUIRE(hb.has_value());
  BOOST_TEST(ha->body.find("NotEntitled") != std::string::npos, ha->body);
  BOOST_TEST(ha->status == hb->status);
  BOOST_TEST(ha->body == hb->body);

  // The operator still sees which it was.
  auto refused = w.audit("tsm2", "NotEntitled", "WSGetDiversifiedKeys");
  BOOST_REQUIRE(refused.size() == 5u);
  std::multiset<std::string> reasons;
  for (const auto& e : refused) reasons.insert(nlohmann::json::parse(e.detail)["reason"].get<std::string>());
  BOOST_TEST(reasons.count("unknown_iin") == 2u);
  BOOST_TEST(reasons.count("not_entitled") == 3u);
}

// The lock-out of issue 19 item 6, with reject_counter_anomaly = true: tsm2 (AES-128 issuer)
// sends the KDD of a card of the AES-256 issuer at FFFFFF under its own issuer. Before, the one
// counter per KDD then made every later counter of that card "backwards": CounterReplay.
BOOST_AUTO_TEST_CASE(a_tsm_of_another_issuer_cannot_lock_a_card_out) {
  WorldOptions o;
  o.release.reject_counter_anomaly = true;
  World w(o);
  Client c1 = w.client("tsm1");
  Client c2 = w.client("tsm2");
  const DemoKeySet& card_issuer = w.key_set("demo-scp03-aes256");
  const DemoKeySet& other = w.key_set("demo-scp03-aes128");
  const gp::Bytes kdd = random_kdd();
  auto first = c1.get_diversified_keys(with_counter(w.request(card_issuer, kdd), 10));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(first), describe(first));
  auto attack = c2.get_diversified_keys(with_counter(w.request(other, kdd), 0xFFFFFF));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(attack), describe(attack));  // its own issuer's keys
  auto next = c1.get_diversified_keys(with_counter(w.request(card_issuer, kdd), 11));
  BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(next), describe(next));
  w.check_keys(std::get<GetKeysResponse>(next), card_issuer, kdd, w.kek("tsm1", 1));
  BOOST_TEST(w.admin().find_counter(card_issuer.issuer, kdd)->last == 11u);
  BOOST_TEST(w.admin().find_counter(other.issuer, kdd)->last == 0xFFFFFFu);
  BOOST_TEST(w.metrics().sequence_counter_anomalies.value() == 0u);
}

// A refused request does not move the counter: before, the refused replay's 3 became the card's
// last counter, so 4 (still behind the released 5) went through.
BOOST_AUTO_TEST_CASE(a_refused_request_does_not_move_the_counter) {
  WorldOptions o;
  o.release.reject_counter_anomaly = true;
  World w(o);
  Client c1 = w.client("tsm1");
  Client c2 = w.client("tsm2");
  const DemoKeySet& ks = w.key_set("demo-scp03-aes256");
  const gp::Bytes kdd = random_kdd();
  BOOST_REQUIRE(std::holds_alternative<GetKeysResponse>(c1.get_diversified_keys(with_counter(w.request(ks, kdd), 5))));
  BOOST_TEST(fault_of(c1.get_diversified_keys(with_counter(w.request(ks, kdd), 3))) == "CounterReplay");
  auto four = c1.get_diversified_keys(with_counter(w.request(ks, kdd), 4));
  BOOST_TEST(fault_of(four) == "CounterReplay", describe(four));
  BOOST_TEST(describe(four).find("last seen 5") != std::string::npos, describe(four));
  // Refusals before the counter step do not move it either: not entitled, unknown key set.
  BOOST_TEST(fault_of(c2.get_diversified_keys(with_counter(w.request(ks, kdd), 0xFFFFFF))) == "NotEntitled");
  GetKeysRequest no_such_kvn = with_counter(w.request(ks, kdd), 0xFFFFFF);
  no_such_kvn.key_set_version = 0x31;
  no_such_kvn.key_information =
      w.request(DemoKeySet{ks.issuer, ks.iin, 0x31, ks.scp, ks.scp_i, ks.type, ks.method, {}}, kdd).key_information;
  BOOST_TEST(fault_of(c1.get_diversified_keys(no_such_kvn)) == "UnknownKeySet");
  auto card = w.admin().find_counter(ks.issuer, kdd);
  BOOST_REQUIRE(card.has_value());
  BOOST_TEST(card->last == 5u);
  BOOST_TEST(card->highest == 5u);
  BOOST_TEST(card->anomalies == 0u);
  BOOST_TEST(std::holds_alternative<GetKeysResponse>(c1.get_diversified_keys(with_counter(w.request(ks, kdd), 6))));
  BOOST_TEST(w.admin().find_counter(ks.issuer, kdd)->last == 6u);
}

BOOST_AUTO_TEST_SUITE_END()
