// 64 keep-alive clients on 4 workers: every client is served (counts, not timings).
// With a worker pinned per keep-alive connection (TOOLCHAIN gotcha 5) 60 of them would wait.
#include <atomic>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(fairness)

BOOST_AUTO_TEST_CASE(sixty_four_keep_alive_clients_four_workers) {
  constexpr int kClients = 64;
  constexpr long kTarget = kClients * 40;  // total requests before stopping
  TestServer srv([](ServerConfig& c) {
    c.workers = 4;
    c.max_connections = 128;
    // 64 clients connecting at once from one address stand for 64 TSMs: no per-address cap.
    c.max_handshakes_per_peer = 0;
  });
  std::vector<std::atomic<long>> served(kClients);
  std::atomic<long> total{0}, failures{0};
  std::atomic<bool> stop{false};
  std::atomic<int> connected{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Client c = srv.client(i % 2 ? "tsm1" : "tsm2");
      bool first = true;
      while (!stop) {
        auto r = c.ping("fair?");
        if (!std::holds_alternative<std::string>(r)) {
          ++failures;
          break;
        }
        if (first) {
          ++connected;
          first = false;
        }
        ++served[static_cast<std::size_t>(i)];
        ++total;
      }
    });
  }
  auto start = std::chrono::steady_clock::now();
  // Until everyone got through once and the total is reached; bounded as a hang detector.
  bool done = eventually([&] { return (connected == kClients && total >= kTarget) || failures > 0; });
  stop = true;
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  BOOST_TEST(done);
  BOOST_TEST(failures == 0);
  long min = served[0], max = served[0];
  for (auto& s : served) {
    min = std::min<long>(min, s);
    max = std::max<long>(max, s);
  }
  BOOST_TEST_MESSAGE("64 clients x 4 workers: " << total << " requests in " << seconds << " s ("
                                                << static_cast<long>(static_cast<double>(total) / seconds)
                                                << " req/s), per client min " << min << " max " << max);
  BOOST_TEST(min >= 1);  // nobody starved
  // Served in turn: even the least served client got a fair fraction of the mean.
  BOOST_TEST(min * 4 >= total / kClients, "min " << min << " mean " << total / kClients);
  // keep-alive held: one connection per client
  BOOST_TEST(srv.metrics().connections_accepted.value() == static_cast<std::uint64_t>(kClients));
}

BOOST_AUTO_TEST_SUITE_END()
