// GET /healthz and /metrics on the service's listener; 404 elsewhere.
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

HttpResponse get(const TestServer& srv, const std::string& path) {
  std::string err;
  auto r = tls_exchange(srv.port(), "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n", {}, &err);
  BOOST_REQUIRE_MESSAGE(r.has_value(), err);
  return *r;
}

// The value of the sample `name{labels}` in a Prometheus text body, or -1.
double sample(const std::string& body, const std::string& series) {
  auto at = body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + series.size() + 2));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http)

BOOST_AUTO_TEST_CASE(healthz) {
  TestServer srv;
  HttpResponse r = get(srv, "/healthz");
  BOOST_TEST(r.status == 200);
  BOOST_TEST(r.headers["content-type"] == "application/json");
  auto j = nlohmann::json::parse(r.body);
  BOOST_TEST(j["status"] == "ok");
  BOOST_TEST(j.contains("uptime_seconds"));
  BOOST_TEST(r.body.find("BEGIN") == std::string::npos);  // no key or certificate material
  BOOST_TEST(r.headers.count("server") == 0u);             // no software banner

  srv.server().set_health_check([] { return Health{false, "hsm unavailable"}; });
  HttpResponse bad = get(srv, "/healthz");
  BOOST_TEST(bad.status == 503);
  BOOST_TEST(nlohmann::json::parse(bad.body)["detail"] == "hsm unavailable");
}

BOOST_AUTO_TEST_CASE(metrics_counters_move) {
  TestServer srv;
  HttpResponse before = get(srv, "/metrics");
  BOOST_TEST(before.status == 200);
  BOOST_TEST(before.headers["content-type"].rfind("text/plain; version=0.0.4", 0) == 0);
  BOOST_TEST(before.body.find("# TYPE sekds_requests_total counter") != std::string::npos);
  BOOST_TEST(before.body.find("# TYPE sekds_request_duration_seconds histogram") != std::string::npos);
  BOOST_TEST(before.body.find("# TYPE sekds_hsm_operation_duration_seconds histogram") != std::string::npos);
  BOOST_TEST(sample(before.body, "sekds_requests_total{operation=\"WSPing\",fault=\"none\"}") == -1);

  Client c = srv.client();
  for (int i = 0; i < 3; ++i) c.ping("count me");
  srv.keys().on_kek_info([](const CallerIdentity&) { return Fault{FaultCode::NotAccredited, "who are you"}; });
  c.get_kek_info();
  // counters move once the answer is out: wait for them before reading /metrics
  BOOST_REQUIRE(eventually([&] { return srv.metrics().requests.with({"WSGetKekInfo", "NotAccredited"}).value() == 1u; }));
  BOOST_REQUIRE(eventually([&] { return srv.metrics().requests.with({"WSPing", "none"}).value() == 3u; }));

  HttpResponse after = get(srv, "/metrics");
  BOOST_TEST(sample(after.body, "sekds_requests_total{operation=\"WSPing\",fault=\"none\"}") == 3);
  BOOST_TEST(sample(after.body, "sekds_requests_total{operation=\"WSGetKekInfo\",fault=\"NotAccredited\"}") == 1);
  BOOST_TEST(sample(after.body, "sekds_request_duration_seconds_count{operation=\"WSPing\"}") == 3);
  BOOST_TEST(sample(after.body, "sekds_request_duration_seconds_bucket{operation=\"WSPing\",le=\"+Inf\"}") == 3);
  BOOST_TEST(sample(after.body, "sekds_open_connections") >= 1);
  BOOST_TEST(sample(after.body, "sekds_http_requests_total{path=\"/metrics\",code=\"200\"}") == 1);
  BOOST_TEST(after.body.find("who are you") == std::string::npos);  // no fault messages in metrics
}

BOOST_AUTO_TEST_CASE(other_paths_are_404_and_keep_alive_continues) {
  TestServer srv;
  HttpResponse r = get(srv, "/admin");
  BOOST_TEST(r.status == 404);
  BOOST_TEST(get(srv, "/").status == 404);
  BOOST_TEST(get(srv, "/metrics/../etc/passwd").status == 404);
  BOOST_TEST(get(srv, "/healthz?verbose=1").status == 200);
}

BOOST_AUTO_TEST_SUITE_END()
