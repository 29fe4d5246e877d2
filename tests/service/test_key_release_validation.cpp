// The pure parts of the key release: the card data checks that run before any lookup or HSM
// call, the request digest of idempotent retries, the card key type of a key set, and the
// [release] / [hsm] so_pin configuration.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <set>

#include "gp/key_information.h"
#include "service/authorizer.h"
#include "service/config.h"
#include "service/request_validation.h"
#include "test_key_release_fixture.h"

using namespace sekds;
using namespace sekds::service;

namespace {

gp::Bytes e0(std::initializer_list<std::tuple<std::uint8_t, std::uint8_t, std::uint8_t, std::uint16_t>> keys) {
  gp::KeyInformation info;
  for (auto [kid, kvn, type, len] : keys) {
    gp::KeyInformationData d;
    d.key_id = kid;
    d.kvn = kvn;
    d.components = {{type, len}};
    info.keys.push_back(d);
  }
  return info.encode();
}

GetKeysRequest valid() {
  GetKeysRequest r;
  r.kdd = gp::from_hex("00112233445566778899");
  r.key_information = e0({{1, 0x30, gp::kKeyTypeAes, 16}, {2, 0x30, gp::kKeyTypeAes, 16}, {3, 0x30, gp::kKeyTypeAes, 16}});
  r.sequence_counter = gp::from_hex("00002A");
  r.kek_index = 1;
  r.iin = gp::from_hex("a000000002");
  r.request_id = "req-1";
  return r;
}

// The fault of parse_card_request, or nullopt when it accepts.
std::optional<Fault> fault_of(const GetKeysRequest& r) {
  auto v = parse_card_request(r);
  if (auto* f = std::get_if<Fault>(&v)) return *f;
  return std::nullopt;
}

bool refused(const GetKeysRequest& r, FaultCode code, const std::string& needle) {
  auto f = fault_of(r);
  if (!f) {
    BOOST_TEST_MESSAGE("accepted");
    return false;
  }
  BOOST_TEST_MESSAGE(fault_code_name(f->code) << ": " << f->message);
  return f->code == code && f->message.find(needle) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(key_release_validation)

BOOST_AUTO_TEST_CASE(a_valid_request_is_parsed) {
  auto v = parse_card_request(valid());
  BOOST_REQUIRE(std::holds_alternative<CardRequest>(v));
  const CardRequest& c = std::get<CardRequest>(v);
  BOOST_TEST(c.kvn == 0x30);
  BOOST_TEST(c.counter.value() == 42u);
  BOOST_TEST(c.counter.width() == 3u);
  BOOST_TEST((c.key_set.key_type == gp::KeyType::Aes128));
  BOOST_TEST(*c.iin_hex == "A000000002");  // uppercase, as the store keeps IINs
  BOOST_TEST(c.kdd.hex() == "00112233445566778899");
}

BOOST_AUTO_TEST_CASE(malformed_fields_are_invalid_arguments_naming_the_field) {
  GetKeysRequest r = valid();
  r.kdd.pop_back();
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "KeyDiversificationData"));
  r = valid();
  r.sequence_counter = gp::from_hex("00000001");
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "SequenceCounter"));
  r = valid();
  r.key_information = gp::from_hex("E0050102");
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "KeyInformation"));
  r = valid();
  r.key_information = gp::from_hex("E000");
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "KeyInformation lists no keys"));
  r = valid();
  r.request_id = "has space";
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "RequestId"));
  r = valid();
  r.request_id = std::string(65, 'x');
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "RequestId"));
  r = valid();
  r.cplc = gp::Bytes(41, 0);
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "Cplc"));
  r = valid();
  r.iin = gp::Bytes(17, 0xA0);
  BOOST_TEST(refused(r, FaultCode::InvalidArgument, "IssuerIdentificationNumber"));
}

BOOST_AUTO_TEST_CASE(the_key_information_must_name_one_usable_key_set) {
  GetKeysRequest r = valid();
  r.key_set_version = 0x31;
  BOOST_TEST(refused(r, FaultCode::KeyInformationMismatch, "KeySetVersion 49 ('31') is not in KeyInformation"));
  r = valid();
  r.key_information = e0({{1, 0x30, gp::kKeyTypeAes, 16}, {2, 0x30, gp::kKeyTypeAes, 16}, {3, 0x30, gp::kKeyTypeAes, 16},
                          {1, 0x20, gp::kKeyTypeDes, 16}, {2, 0x20, gp::kKeyTypeDes, 16}, {3, 0x20, gp::kKeyTypeDes, 16}});
  BOOST_TEST(refused(r, FaultCode::KeyInformationMismatch, "KeySetVersion is required"));
  r.key_set_version = 0x20;
  auto v = parse_card_request(r);
  BOOST_REQUIRE(std::holds_alternative<CardRequest>(v));
  BOOST_TEST((std::get<CardRequest>(v).key_set.key_type == gp::KeyType::Des2));
  r = valid();
  r.key_information = e0({{1, 0x30, gp::kKeyTypeAes, 16}, {2, 0x30, gp::kKeyTypeAes, 32}, {3, 0x30, gp::kKeyTypeAes, 16}});
  BOOST_TEST(refused(r, FaultCode::KeyInformationMismatch, "mixes"));
  r = valid();
  r.key_information = e0({{1, 0x30, gp::kKeyTypeAes, 16}, {2, 0x30, gp::kKeyTypeAes, 16}});
  BOOST_TEST(refused(r, FaultCode::KeyInformationMismatch, "lacks key 1, 2 or 3"));
  r = valid();
  r.key_information = e0({{1, 0x30, gp::kKeyTypeRsaPublicN, 128}, {2, 0x30, gp::kKeyTypeAes, 16}, {3, 0x30, gp::kKeyTypeAes, 16}});
  BOOST_TEST(refused(r, FaultCode::KeyInformationMismatch, "not a DES or AES key"));
}

BOOST_AUTO_TEST_CASE(the_card_must_fit_the_key_set) {
  CardRequest c = std::get<CardRequest>(parse_card_request(valid()));
  BOOST_TEST(!check_card_against_key_set(c, 3, gp::KeyType::Aes128).has_value());
  auto scp = check_card_against_key_set(c, 2, gp::KeyType::Aes128);
  BOOST_REQUIRE(scp.has_value());
  BOOST_TEST((scp->code == FaultCode::InvalidArgument));
  BOOST_TEST(scp->message.find("SequenceCounter has 3 bytes (SCP03)") != std::string::npos, scp->message);
  auto type = check_card_against_key_set(c, 3, gp::KeyType::Aes256);
  BOOST_REQUIRE(type.has_value());
  BOOST_TEST((type->code == FaultCode::KeyInformationMismatch));
  BOOST_TEST(type->message.find("AES128") != std::string::npos, type->message);
}

BOOST_AUTO_TEST_CASE(the_request_digest_covers_every_input) {
  const GetKeysRequest base = valid();
  const std::string d = request_digest(base);
  BOOST_TEST(d.size() == 64u);
  BOOST_TEST(request_digest(valid()) == d);
  GetKeysRequest r = base;
  r.request_id = "another id";  // the id itself is not an input of the answer
  BOOST_TEST(request_digest(r) == d);
  std::vector<std::function<void(GetKeysRequest&)>> changes = {
      [](GetKeysRequest& x) { x.kdd[9] ^= 1; },
      [](GetKeysRequest& x) { x.key_information.push_back(0); },
      [](GetKeysRequest& x) { x.sequence_counter[2] ^= 1; },
      [](GetKeysRequest& x) { x.kek_index = 2; },
      [](GetKeysRequest& x) { x.key_set_version = 0x30; },
      [](GetKeysRequest& x) { x.iin.reset(); },
      [](GetKeysRequest& x) { x.iin = gp::Bytes{}; },
      [](GetKeysRequest& x) { x.cin = gp::from_hex("01"); },
      [](GetKeysRequest& x) { x.cplc = gp::Bytes(42, 0); },
  };
  std::set<std::string> seen = {d};
  for (std::size_t i = 0; i < changes.size(); ++i) {
    GetKeysRequest x = base;
    changes[i](x);
    BOOST_TEST(seen.insert(request_digest(x)).second, "change " << i << " kept the digest");
  }
}

BOOST_AUTO_TEST_CASE(des_methods_release_des2_card_keys) {
  store::KeySet ks;
  ks.spec.method = gp::DiversificationMethod::Emv;
  ks.spec.key_type = gp::KeyType::Des3;
  BOOST_TEST((card_key_type(ks) == gp::KeyType::Des2));
  ks.spec.method = gp::DiversificationMethod::Kdf3;
  ks.spec.key_type = gp::KeyType::Aes192;
  BOOST_TEST((card_key_type(ks) == gp::KeyType::Aes192));
}

BOOST_AUTO_TEST_CASE(release_configuration) {
  const std::string tls =
      "[tls]\ncertificate = \"c.crt\"\nprivate_key = \"c.key\"\nclient_ca = \"ca.crt\"\n"
      "[hsm]\nmodule = \"/m.so\"\ntoken = \"t\"\npin = \"file:user.pin\"\n";
  ServerConfig c = parse_config(tls + "so_pin = \"file:so.pin\"\n[store]\npath = \"db\"\n", "/etc/sekds/s.toml");
  BOOST_TEST(*c.hsm->so_pin == "file:/etc/sekds/so.pin");
  BOOST_TEST(!c.release.reject_counter_anomaly);
  BOOST_TEST(c.release.idempotency_window_s == 600);
  c = parse_config(tls + "so_pin = \"env:SO\"\n[store]\npath = \"db\"\n[release]\nreject_counter_anomaly = true\n"
                         "idempotency_window = 0\nrefusal_audit_rate = 0.5\nrefusal_audit_burst = 5\n",
                   "/etc/sekds/s.toml");
  BOOST_TEST(*c.hsm->so_pin == "env:SO");
  BOOST_TEST(c.release.reject_counter_anomaly);
  BOOST_TEST(c.release.idempotency_window_s == 0);
  BOOST_TEST(c.release.refusal_audit_rate == 0.5);
  ReleaseOptions o = ReleaseOptions::from(c.release);
  BOOST_TEST(o.idempotency_window.count() == 0);
  BOOST_TEST(o.refusal_audit_burst == 5.0);
  auto error = [&](const std::string& text) {
    try {
      parse_config(text, "/etc/sekds/s.toml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  BOOST_TEST(error(tls + "so_pin = \"12345678\"\n[store]\npath = \"db\"\n").find("hsm.so_pin: must be") == 0u);
  BOOST_TEST(error(tls + "[store]\npath = \"db\"\n[release]\nreject_counter_anomaly = 1\n")
                 .find("release.reject_counter_anomaly: must be true or false") == 0u);
  BOOST_TEST(error(tls + "[store]\npath = \"db\"\n[release]\nwindow = 3\n").find("release.window: unknown key") == 0u);
  BOOST_TEST(error(tls).find("store: missing") == 0u);
  BOOST_TEST(error(tls + "[store]\npath = \"db\"\n[release]\nidempotency_window = -1\n").find("out of range") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(called_without_the_transport_a_caller_without_certificate_is_not_accredited) {
  // The KeyService is the boundary: it must hold without the transport's checks too.
  test::World w;
  CallerIdentity nobody{"", "", "127.0.0.1:1"};
  auto r = w.service().get_diversified_keys(nobody, valid());
  BOOST_REQUIRE(std::holds_alternative<Fault>(r));
  BOOST_TEST((std::get<Fault>(r).code == FaultCode::NotAccredited));
  auto audited = w.audit("unaccredited (no certificate)", "NotAccredited");
  BOOST_TEST(audited.size() == 1u);
  // A request the transport would have refused is refused here as well.
  auto tsm1 = w.admin().find_tsm("tsm1");
  CallerIdentity one{tsm1->cert_sha256, "CN=tsm1", "127.0.0.1:2"};
  GetKeysRequest bad = valid();
  bad.kdd = gp::Bytes(3, 0);
  auto f = w.service().get_diversified_keys(one, bad);
  BOOST_REQUIRE(std::holds_alternative<Fault>(f));
  BOOST_TEST((std::get<Fault>(f).code == FaultCode::InvalidArgument));
  auto refused = w.audit("tsm1", "InvalidArgument");
  BOOST_REQUIRE(refused.size() == 1u);
  BOOST_TEST(!refused.front().kdd.has_value());  // a malformed KDD is not recorded as one
  BOOST_TEST(w.service().health().ok);
}

BOOST_AUTO_TEST_SUITE_END()
