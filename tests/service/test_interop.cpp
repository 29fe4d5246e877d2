// The contract from outside: the WSDL keeps its promises (documented, versioned, two bindings)
// and python3-zeep, a SOAP stack that is not gSOAP, talks to the server through it.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(interop)

BOOST_AUTO_TEST_CASE(wsdl_is_documented_and_complete) {
  auto [rc, out] = run_command("/usr/bin/python3 " + std::string(SEKDS_SOURCE_DIR) + "/tests/service/wsdl_lint.py " +
                               std::string(SEKDS_SOURCE_DIR) + "/wsdl/sekds.wsdl 2>&1");
  BOOST_TEST(rc == 0, out);
}

BOOST_AUTO_TEST_CASE(zeep_client_over_both_bindings) {
  TestServer srv;
  srv.keys().on_kek_info([](const CallerIdentity&) { return Fault{FaultCode::NotEntitled, "not yours"}; });
  const Pki& p = pki();
  std::string cmd = "/usr/bin/python3 " + std::string(SEKDS_SOURCE_DIR) + "/tests/service/zeep_interop.py " +
                    std::string(SEKDS_SOURCE_DIR) + "/wsdl/sekds.wsdl " + srv.endpoint() + " " +
                    p.crt("tsm1").string() + " " + p.key("tsm1").string() + " " + p.crt("ca").string() + " 2>&1";
  auto [rc, out] = run_command(cmd);
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  auto j = nlohmann::json::parse(out);
  for (const char* binding : {"SekdsSoap11", "SekdsSoap12"}) {
    const auto& r = j.at(binding);
    BOOST_TEST(r.at("ping").get<std::string>() == std::string("zeep ") + binding);
    BOOST_TEST(r.at("fault_code").get<std::string>() == "NotEntitled");
    BOOST_TEST(r.at("fault_message").get<std::string>() == "not yours");
    BOOST_TEST(r.at("key_type").get<std::string>() == "AES128");
    BOOST_TEST(r.at("scp").get<std::string>() == "03");
    BOOST_TEST(r.at("enc_kcv").get<std::string>() == "010203");
    BOOST_TEST(r.at("audit_id").get<std::string>() == "audit-000042");
  }
  auto last = srv.keys().last_request();
  BOOST_REQUIRE(last);
  BOOST_TEST(*last->request_id == "zeep-1");
  BOOST_TEST(last->kdd.size() == 10u);
}

BOOST_AUTO_TEST_SUITE_END()
