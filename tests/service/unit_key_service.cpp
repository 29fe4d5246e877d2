// Fault code names and request/response validation against the WSDL's limits.
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "service/key_service.h"

using namespace sekds;
using namespace sekds::service;

namespace {

GetKeysRequest valid_request() {
  GetKeysRequest r;
  r.kdd = gp::Bytes(10, 1);
  r.key_information = gp::from_hex("E000");
  r.sequence_counter = gp::from_hex("0001");
  return r;
}

GetKeysResponse valid_response() {
  GetKeysResponse r;
  r.kek_kcv = {1, 2, 3};
  r.enc = r.mac = r.dek = {gp::Bytes(24, 9), {4, 5, 6}};
  r.audit_id = "1";
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(key_service)

BOOST_AUTO_TEST_CASE(fault_codes_match_the_wsdl) {
  std::ifstream in(std::string(SEKDS_SOURCE_DIR) + "/wsdl/sekds.wsdl");
  std::stringstream wsdl;
  wsdl << in.rdbuf();
  for (FaultCode c : kAllFaultCodes) {
    BOOST_TEST(parse_fault_code(fault_code_name(c)).has_value());
    BOOST_TEST((*parse_fault_code(fault_code_name(c)) == c));
    std::string enumeration = std::string("<xs:enumeration value=\"") + fault_code_name(c) + "\"/>";
    BOOST_TEST(wsdl.str().find(enumeration) != std::string::npos, fault_code_name(c));
  }
  BOOST_TEST(!parse_fault_code("internal").has_value());
  BOOST_TEST(is_sender_fault(FaultCode::NotEntitled));
  BOOST_TEST(!is_sender_fault(FaultCode::AuditUnavailable));
}

BOOST_AUTO_TEST_CASE(request_limits) {
  BOOST_TEST(!validate(valid_request()).has_value());
  auto expect_bad = [](GetKeysRequest r, const char* field) {
    auto f = validate(r);
    BOOST_REQUIRE_MESSAGE(f.has_value(), field);
    BOOST_TEST((f->code == FaultCode::InvalidArgument));
    BOOST_TEST(f->message.find(field) != std::string::npos, f->message);
  };
  GetKeysRequest r = valid_request();
  r.kdd.push_back(0);
  expect_bad(r, "KeyDiversificationData");
  r = valid_request();
  r.sequence_counter = gp::Bytes(4, 0);
  expect_bad(r, "SequenceCounter");
  r = valid_request();
  r.key_information = gp::Bytes(1025, 0);
  expect_bad(r, "KeyInformation");
  r = valid_request();
  r.cplc = gp::Bytes(41, 0);
  expect_bad(r, "Cplc");
  r = valid_request();
  r.iin = gp::Bytes{};
  expect_bad(r, "IssuerIdentificationNumber");
  r = valid_request();
  r.request_id = "has space";
  expect_bad(r, "RequestId");
  r.request_id = std::string(65, 'a');
  expect_bad(r, "RequestId");
  BOOST_TEST(is_valid_request_id("a-Z_0.9:~!"));
}

BOOST_AUTO_TEST_CASE(response_limits) {
  BOOST_TEST(!validate(valid_response()).has_value());
  GetKeysResponse r = valid_response();
  r.scp = 1;
  BOOST_TEST(validate(r).has_value());
  r = valid_response();
  r.dek.wrapped_key.resize(41);
  BOOST_TEST(validate(r).has_value());
  r = valid_response();
  r.audit_id.clear();
  BOOST_TEST(validate(r).has_value());

  KekInfo k{1, "AES256", {1, 2, 3}, "active", std::string("2026-01-01T00:00:00Z"), std::string("2027-01-01T00:00:00.5Z")};
  BOOST_TEST(!validate(k).has_value());
  k.valid_until = "2027-01-01";
  BOOST_TEST(validate(k).has_value());
  k.valid_until.reset();
  k.state = "revoked";
  BOOST_TEST(validate(k).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
