// The operations end to end through the client: values and every fault code survive the trip.
#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds;
using namespace sekds::service;
using namespace sekds::test;

namespace {

GetKeysRequest sample_request() {
  GetKeysRequest r;
  r.kdd = gp::from_hex("00010203040506070809");
  r.key_information = gp::from_hex("E012C00401308810C00402308810C00403308810");
  r.sequence_counter = gp::from_hex("00002A");
  r.kek_index = 7;
  r.key_set_version = 0x30;
  r.iin = gp::from_hex("42018C");
  r.cin = gp::from_hex("4510AABBCCDD");
  r.cplc = gp::Bytes(42, 0x5A);
  r.request_id = "req-1/2:3";
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(operations)

BOOST_AUTO_TEST_CASE(get_diversified_keys_round_trip) {
  TestServer srv;
  for (int version : {11, 12}) {
    Client c = srv.client("tsm2", version);
    auto r = c.get_diversified_keys(sample_request());
    BOOST_REQUIRE_MESSAGE(std::holds_alternative<GetKeysResponse>(r), "version " << version);
    const GetKeysResponse& got = std::get<GetKeysResponse>(r);
    GetKeysResponse want = sample_response();
    BOOST_TEST(got.key_set_version == want.key_set_version);
    BOOST_TEST((got.key_type == want.key_type));
    BOOST_TEST(got.scp == want.scp);
    BOOST_TEST(got.kek_index == want.kek_index);
    BOOST_TEST(got.kek_kcv == want.kek_kcv);
    BOOST_TEST(got.enc.wrapped_key == want.enc.wrapped_key);
    BOOST_TEST(got.mac.kcv == want.mac.kcv);
    BOOST_TEST(got.dek.wrapped_key == want.dek.wrapped_key);
    BOOST_TEST(got.audit_id == want.audit_id);

    auto seen = srv.keys().last_request();
    BOOST_REQUIRE(seen);
    GetKeysRequest sent = sample_request();
    BOOST_TEST(seen->kdd == sent.kdd);
    BOOST_TEST(seen->key_information == sent.key_information);
    BOOST_TEST(seen->sequence_counter == sent.sequence_counter);
    BOOST_TEST(seen->kek_index == sent.kek_index);
    BOOST_TEST((seen->key_set_version == sent.key_set_version));
    BOOST_TEST(*seen->iin == *sent.iin);
    BOOST_TEST(*seen->cin == *sent.cin);
    BOOST_TEST(*seen->cplc == *sent.cplc);
    BOOST_TEST(*seen->request_id == *sent.request_id);
  }
}

BOOST_AUTO_TEST_CASE(optional_fields_stay_absent) {
  TestServer srv;
  GetKeysRequest r = sample_request();
  r.key_set_version.reset();
  r.iin.reset();
  r.cin.reset();
  r.cplc.reset();
  r.request_id.reset();
  r.sequence_counter = gp::from_hex("002A");
  BOOST_REQUIRE(std::holds_alternative<GetKeysResponse>(srv.client().get_diversified_keys(r)));
  auto seen = srv.keys().last_request();
  BOOST_REQUIRE(seen);
  BOOST_TEST(!seen->key_set_version.has_value());
  BOOST_TEST(!seen->iin.has_value());
  BOOST_TEST(!seen->cplc.has_value());
  BOOST_TEST(!seen->request_id.has_value());
  BOOST_TEST(seen->sequence_counter.size() == 2u);
}

BOOST_AUTO_TEST_CASE(every_fault_code_reaches_the_client_intact) {
  TestServer srv;
  for (int version : {11, 12}) {
    Client c = srv.client("tsm1", version);
    for (FaultCode code : kAllFaultCodes) {
      std::string message = std::string("because ") + fault_code_name(code);
      srv.keys().on_get_keys([&](const CallerIdentity&, const GetKeysRequest&) { return Fault{code, message}; });
      srv.keys().on_kek_info([&](const CallerIdentity&) { return Fault{code, message}; });
      auto r = c.get_diversified_keys(sample_request());
      BOOST_REQUIRE_MESSAGE(std::holds_alternative<Fault>(r), fault_code_name(code) << " v" << version);
      BOOST_TEST((std::get<Fault>(r).code == code));
      BOOST_TEST(std::get<Fault>(r).message == message);
      auto k = c.get_kek_info();
      BOOST_REQUIRE(std::holds_alternative<Fault>(k));
      BOOST_TEST((std::get<Fault>(k).code == code));
      BOOST_TEST(eventually([&] { return srv.metrics().requests.with({"WSGetKekInfo", fault_code_name(code)}).value() >= 1u; }),
                 fault_code_name(code));
    }
  }
  // a fault does not cost the connection: everything above ran on two connections
  BOOST_TEST(srv.metrics().connections_accepted.value() == 2u);
}

BOOST_AUTO_TEST_CASE(long_fault_messages_are_cut_to_the_wsdl_limit) {
  TestServer srv;
  srv.keys().on_kek_info([](const CallerIdentity&) { return Fault{FaultCode::Internal, std::string(1000, 'x')}; });
  auto r = srv.client().get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<Fault>(r));
  BOOST_TEST(std::get<Fault>(r).message.size() == 256u);
}

BOOST_AUTO_TEST_CASE(key_service_exceptions_and_bad_answers_become_internal) {
  TestServer srv;
  srv.keys().on_kek_info([](const CallerIdentity&) -> std::variant<std::vector<KekInfo>, Fault> {
    throw std::runtime_error("/secret/path/to/db is locked");
  });
  auto r = srv.client().get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<Fault>(r));
  BOOST_TEST((std::get<Fault>(r).code == FaultCode::Internal));
  BOOST_TEST(std::get<Fault>(r).message.find("/secret") == std::string::npos);

  srv.keys().on_get_keys([](const CallerIdentity&, const GetKeysRequest&) {
    GetKeysResponse bad = sample_response();
    bad.kek_kcv = {1, 2};  // breaks the WSDL
    return bad;
  });
  auto k = srv.client().get_diversified_keys(sample_request());
  BOOST_REQUIRE(std::holds_alternative<Fault>(k));
  BOOST_TEST((std::get<Fault>(k).code == FaultCode::Internal));
}

BOOST_AUTO_TEST_CASE(kek_info_round_trip) {
  TestServer srv;
  srv.keys().on_kek_info([](const CallerIdentity&) {
    std::vector<KekInfo> keks(2);
    keks[0] = {1, "AES256", {0xAA, 0xBB, 0xCC}, "retired", std::string("2025-01-01T00:00:00Z"),
               std::string("2026-01-01T00:00:00Z")};
    keks[1] = {2, "AES128", {0x01, 0x02, 0x03}, "active", std::string("2026-01-01T00:00:00Z"), std::nullopt};
    return keks;
  });
  auto r = srv.client("tsm1", 12).get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<std::vector<KekInfo>>(r));
  const auto& keks = std::get<std::vector<KekInfo>>(r);
  BOOST_REQUIRE_EQUAL(keks.size(), 2u);
  BOOST_TEST(keks[0].index == 1u);
  BOOST_TEST(keks[0].algorithm == "AES256");
  BOOST_TEST(keks[0].state == "retired");
  BOOST_TEST(*keks[0].valid_until == "2026-01-01T00:00:00Z");
  BOOST_TEST(keks[1].kcv == (gp::Bytes{0x01, 0x02, 0x03}));
  BOOST_TEST(!keks[1].valid_until.has_value());
}

BOOST_AUTO_TEST_CASE(client_refuses_to_send_an_invalid_request) {
  TestServer srv;
  GetKeysRequest r = sample_request();
  r.kdd.pop_back();
  auto res = srv.client().get_diversified_keys(r);
  BOOST_REQUIRE(std::holds_alternative<Fault>(res));
  BOOST_TEST((std::get<Fault>(res).code == FaultCode::InvalidArgument));
  BOOST_TEST(srv.keys().callers().empty());
}

BOOST_AUTO_TEST_CASE(rate_limit_per_tsm) {
  TestServer srv([](ServerConfig& c) {
    c.rate_per_tsm = 0.001;  // practically no refill during the test
    c.rate_burst = 3;
  });
  Client tsm1 = srv.client("tsm1");
  int ok = 0, limited = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = tsm1.get_kek_info();
    if (std::holds_alternative<std::vector<KekInfo>>(r)) ++ok;
    else if (std::holds_alternative<Fault>(r) && std::get<Fault>(r).code == FaultCode::RateLimited) ++limited;
  }
  BOOST_TEST(ok == 3);
  BOOST_TEST(limited == 2);
  // another TSM has its own bucket; WSPing is never limited
  BOOST_TEST(std::holds_alternative<std::vector<KekInfo>>(srv.client("tsm2").get_kek_info()));
  BOOST_TEST(std::holds_alternative<std::string>(tsm1.ping("still here")));
}

BOOST_AUTO_TEST_SUITE_END()
