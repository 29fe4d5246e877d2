// The metrics registry and its Prometheus text rendering; the rate limiter.
#include <boost/test/unit_test.hpp>

#include <thread>
#include <vector>

#include "service/metrics.h"
#include "service/rate_limiter.h"
#include "service/service_metrics.h"

using namespace sekds::service;

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(text_format) {
  MetricsRegistry r;
  auto& req = r.counter_family("sekds_x_total", "Things\ndone", {"op", "fault"});
  req.with({"WSPing", "none"}).inc(3);
  req.with({"We\"ird\\op\n", "none"}).inc();
  r.gauge("sekds_open", "Open").set(2);
  auto& h = r.histogram("sekds_lat_seconds", "Latency", {0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  r.callback_gauge("sekds_uptime_seconds", "Up", [] { return 12.5; });
  std::string text = r.render();
  BOOST_TEST(text.find("# HELP sekds_x_total Things\\ndone\n# TYPE sekds_x_total counter\n") != std::string::npos, text);
  BOOST_TEST(text.find("sekds_x_total{op=\"WSPing\",fault=\"none\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("sekds_x_total{op=\"We\\\"ird\\\\op\\n\",fault=\"none\"} 1\n") != std::string::npos, text);
  BOOST_TEST(text.find("sekds_open 2\n") != std::string::npos);
  BOOST_TEST(text.find("sekds_lat_seconds_bucket{le=\"0.1\"} 1\n") != std::string::npos, text);
  BOOST_TEST(text.find("sekds_lat_seconds_bucket{le=\"1\"} 2\n") != std::string::npos);
  BOOST_TEST(text.find("sekds_lat_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  BOOST_TEST(text.find("sekds_lat_seconds_sum 5.55\n") != std::string::npos, text);
  BOOST_TEST(text.find("sekds_lat_seconds_count 3\n") != std::string::npos);
  BOOST_TEST(text.find("sekds_uptime_seconds 12.5\n") != std::string::npos);
  // registration order is kept
  BOOST_TEST(text.find("sekds_x_total") < text.find("sekds_open"));
}

BOOST_AUTO_TEST_CASE(registration_rules) {
  MetricsRegistry r;
  auto& a = r.counter_family("sekds_a_total", "A", {"x"});
  BOOST_TEST(&r.counter_family("sekds_a_total", "A", {"x"}) == &a);  // same family again
  BOOST_CHECK_THROW(r.gauge_family("sekds_a_total", "A", {"x"}), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter_family("sekds_a_total", "A", {"y"}), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter("9bad", "B"), std::invalid_argument);
  BOOST_CHECK_THROW(r.counter_family("sekds_b_total", "B", {"le"}), std::invalid_argument);
  BOOST_CHECK_THROW(a.with({"1", "2"}), std::invalid_argument);
  // ServiceMetrics registers everything once; a second instance on the same registry is fine
  ServiceMetrics m1(r), m2(r);
  BOOST_TEST(&m1.open_connections == &m2.open_connections);
}

BOOST_AUTO_TEST_CASE(concurrent_updates_are_not_lost) {
  MetricsRegistry r;
  auto& fam = r.counter_family("sekds_c_total", "C", {"t"});
  auto& h = r.histogram("sekds_h", "H", {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        fam.with({t % 2 ? "odd" : "even"}).inc();
        h.observe(0.5);
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(fam.with({"odd"}).value() == 20000u);
  BOOST_TEST(fam.with({"even"}).value() == 20000u);
  BOOST_TEST(h.count() == 40000u);
  BOOST_TEST(h.cumulative_count(0) == 40000u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(rate_limiter)

BOOST_AUTO_TEST_CASE(token_bucket_per_key) {
  using Clock = RateLimiter::Clock;
  RateLimiter l(2.0, 3);  // 2 per second, burst 3
  auto t0 = Clock::now();
  int ok = 0;
  for (int i = 0; i < 5; ++i) ok += l.allow("tsm1", t0) ? 1 : 0;
  BOOST_TEST(ok == 3);
  BOOST_TEST(l.allow("tsm2", t0));  // separate bucket
  BOOST_TEST(!l.allow("tsm1", t0 + std::chrono::milliseconds(400)));  // 0.8 token
  BOOST_TEST(l.allow("tsm1", t0 + std::chrono::milliseconds(600)));   // 1.2 tokens
  BOOST_TEST(!l.allow("tsm1", t0 + std::chrono::milliseconds(600)));
  // time going backwards (threads) never adds tokens
  BOOST_TEST(!l.allow("tsm1", t0));
  // refill is capped at the burst
  int later = 0;
  for (int i = 0; i < 10; ++i) later += l.allow("tsm1", t0 + std::chrono::seconds(100)) ? 1 : 0;
  BOOST_TEST(later == 3);
}

BOOST_AUTO_TEST_CASE(zero_rate_means_unlimited) {
  RateLimiter l(0, 1);
  for (int i = 0; i < 1000; ++i) BOOST_REQUIRE(l.allow("x"));
}

BOOST_AUTO_TEST_SUITE_END()
