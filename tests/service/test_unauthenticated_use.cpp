// Unauthenticated resource use (issue 19 item 7): connections one client address holds in the
// TLS handshake are capped ([limits] max_handshakes_per_peer); GET /healthz and /metrics answer
// accredited TSMs and [monitoring] certificates only (403 otherwise), within a per-address rate
// limit (429), and a flood of /healthz probes the HSM and the store at most health_probe_rate
// times per second. Peers are told apart by source address: 127.0.0.2 is as local as 127.0.0.1.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include <boost/test/unit_test.hpp>

#include "test_key_release_fixture.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

bool ok(const Result<std::string>& r) { return std::holds_alternative<std::string>(r); }

std::optional<HttpResponse> get(std::uint16_t port, const std::string& path, const std::string& who = "tsm1",
                                const std::string& source = "") {
  TlsClientConfig cfg;
  cfg.who = who;
  cfg.source = source;
  std::string err;
  auto r = tls_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", cfg, &err);
  BOOST_TEST_INFO("GET " << path << " as " << who << ": " << err);
  return r;
}

int status_of(std::uint16_t port, const std::string& path, const std::string& who = "tsm1",
              const std::string& source = "") {
  auto r = get(port, path, who, source);
  return r ? r->status : 0;
}

// Only this certificate counts as accredited (the TestServer default is tsm1 and tsm2).
std::function<bool(const CallerIdentity&)> accredit_only(const std::string& who) {
  return [fp = fingerprint(who)](const CallerIdentity& c) { return c.cert_sha256_hex == fp; };
}

// True when the server closed `fd` (EOF or reset) within the socket's receive timeout (15 s).
bool closed_by_server(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, 0);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(handshakes_per_peer)

BOOST_AUTO_TEST_CASE(an_address_over_the_cap_is_closed_at_accept_other_addresses_are_not) {
  TestServer srv([](ServerConfig& c) {
    c.workers = 2;
    c.max_handshakes_per_peer = 3;
    c.handshake_timeout_s = 60;  // the silent connections stay in the handshake for the whole test
  });
  auto rejected = [&] { return srv.metrics().connections_rejected.with({"handshakes_per_peer"}).value(); };
  auto in_handshake = [&] { return srv.metrics().handshakes_in_progress.value(); };

  std::vector<int> silent;
  for (int i = 0; i < 3; ++i) {
    silent.push_back(tcp_connect_loopback(srv.port()));
    BOOST_REQUIRE(silent.back() >= 0);
  }
  BOOST_REQUIRE(eventually([&] { return in_handshake() == 3; }));

  // One more from 127.0.0.1: closed at once, before any TLS.
  int over = tcp_connect_loopback(srv.port());
  BOOST_REQUIRE(over >= 0);
  BOOST_TEST(closed_by_server(over));
  ::close(over);
  BOOST_TEST(eventually([&] { return rejected() == 1u; }));
  BOOST_TEST(tls_handshake_error(srv.port(), {}) != "");  // a real client from there too
  BOOST_TEST(eventually([&] { return rejected() == 2u; }));

  // Another address is unaffected: a full handshake and a request.
  TlsClientConfig other;
  other.source = "127.0.0.2";
  BOOST_TEST(tls_handshake_error(srv.port(), other) == "");
  BOOST_TEST(status_of(srv.port(), "/healthz", "tsm1", "127.0.0.2") == 200);
  BOOST_TEST(rejected() == 2u);

  // A connection that gives up its handshake frees its place.
  ::close(silent.back());
  silent.pop_back();
  BOOST_REQUIRE(eventually([&] { return in_handshake() == 2; }));
  Client c = srv.client("tsm1");
  BOOST_TEST(ok(c.ping("through")));
  // Established connections do not count: with c open, 127.0.0.1 may start one more handshake.
  silent.push_back(tcp_connect_loopback(srv.port()));
  BOOST_REQUIRE(eventually([&] { return in_handshake() == 3; }));
  BOOST_TEST(rejected() == 2u);
  int over2 = tcp_connect_loopback(srv.port());
  BOOST_TEST(closed_by_server(over2));
  ::close(over2);
  BOOST_TEST(eventually([&] { return rejected() == 3u; }));
  BOOST_TEST(ok(c.ping("the established connection is unaffected")));

  for (int fd : silent) ::close(fd);
  BOOST_TEST(eventually([&] { return in_handshake() == 0; }));
}

BOOST_AUTO_TEST_CASE(zero_means_no_per_address_cap) {
  TestServer srv([](ServerConfig& c) {
    c.max_handshakes_per_peer = 0;
    c.handshake_timeout_s = 60;
  });
  std::vector<int> silent;
  for (int i = 0; i < 20; ++i) {
    silent.push_back(tcp_connect_loopback(srv.port()));
    BOOST_REQUIRE(silent.back() >= 0);
  }
  BOOST_REQUIRE(eventually([&] { return srv.metrics().handshakes_in_progress.value() == 20; }));
  BOOST_TEST(tls_handshake_error(srv.port(), {}) == "");
  BOOST_TEST(srv.metrics().connections_rejected.with({"handshakes_per_peer"}).value() == 0u);
  for (int fd : silent) ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()

namespace {
// The request counter moves after the answer is written: wait (bounded, 2 s) until it reaches
// `at_least`, then return it, so a count that is too high still fails.
std::uint64_t counted(TestServer& srv, const char* path, const char* code, std::uint64_t at_least) {
  for (int i = 0; i < 200 && srv.metrics().http_requests.with({path, code}).value() < at_least; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return srv.metrics().http_requests.with({path, code}).value();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(monitoring_access)

BOOST_AUTO_TEST_CASE(healthz_and_metrics_need_an_accredited_or_a_monitoring_certificate) {
  TestServer srv;
  srv.server().set_accreditation_check(accredit_only("tsm1"));
  for (const char* path : {"/healthz", "/metrics"}) {
    BOOST_TEST(status_of(srv.port(), path, "tsm1") == 200, path);
    auto refused = get(srv.port(), path, "tsm2");  // chains to the CA, but is not accredited
    BOOST_REQUIRE(refused.has_value());
    BOOST_TEST(refused->status == 403, path);
    BOOST_TEST(refused->body.find("sekds_") == std::string::npos);  // no metrics
    BOOST_TEST(refused->body.find("uptime") == std::string::npos);  // no health
  }
  BOOST_TEST(counted(srv, "/healthz", "403", 1) == 1u);
  BOOST_TEST(counted(srv, "/metrics", "403", 1) == 1u);
  BOOST_TEST(srv.metrics().health_probes.value() == 1u);  // only tsm1's request probed

  // No accreditation check installed (sekds-server without a store): nobody but [monitoring].
  srv.server().set_accreditation_check(nullptr);
  BOOST_TEST(status_of(srv.port(), "/healthz", "tsm1") == 403);
  // The accreditation cannot be looked up (the store is down): 503, not a verdict.
  srv.server().set_accreditation_check([](const CallerIdentity&) -> bool { throw std::runtime_error("store down"); });
  BOOST_TEST(status_of(srv.port(), "/metrics", "tsm1") == 503);

  // A monitoring certificate listed in [monitoring] fingerprints needs no accreditation.
  TestServer mon([](ServerConfig& c) { c.monitoring.fingerprints = {fingerprint("tsm2")}; });
  mon.server().set_accreditation_check([](const CallerIdentity&) -> bool { throw std::runtime_error("store down"); });
  BOOST_TEST(status_of(mon.port(), "/healthz", "tsm2") == 200);
  auto m = get(mon.port(), "/metrics", "tsm2");
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->status == 200);
  BOOST_TEST(m->body.find("sekds_health_probes_total 1") != std::string::npos, m->body);
  BOOST_TEST(status_of(mon.port(), "/healthz", "tsm1") == 503);
  // Other paths are as before: 404 for anyone with a certificate.
  BOOST_TEST(status_of(srv.port(), "/admin", "tsm2") == 404);
}

BOOST_AUTO_TEST_CASE(a_flood_of_healthz_probes_at_most_health_probe_rate) {
  TestServer srv([](ServerConfig& c) {
    c.monitoring.health_probe_rate = 0.001;  // one probe per 1000 s: all but the first are cached
    c.monitoring.rate_per_peer = 0;          // no per-peer limit here: the probe limit alone
  });
  std::atomic<int> probes{0};
  srv.server().set_health_check([&] {
    ++probes;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // concurrent calls overlap a probe
    return Health{true, "hsm ok, store ok"};
  });
  constexpr int kThreads = 4, kEach = 10;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      // No Boost.Test macros in these threads (not thread-safe): plain tls_exchange.
      for (int i = 0; i < kEach; ++i) {
        auto r = tls_exchange(srv.port(), "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        if (r && r->status == 200) ++answered;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(answered == kThreads * kEach);
  BOOST_TEST(probes == 1);
  BOOST_TEST(srv.metrics().health_probes.value() == 1u);
  BOOST_TEST(srv.metrics().health_cached.value() == static_cast<std::uint64_t>(kThreads * kEach - 1));

  // A new check is probed at once: the last result belonged to the old one.
  srv.server().set_health_check([&] {
    ++probes;
    return Health{false, "hsm unavailable"};
  });
  auto r = get(srv.port(), "/healthz");
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->status == 503);
  BOOST_TEST(r->body.find("hsm unavailable") != std::string::npos);
  BOOST_TEST(status_of(srv.port(), "/healthz") == 503);  // cached
  BOOST_TEST(probes == 2);
}

BOOST_AUTO_TEST_CASE(over_the_per_peer_rate_429_other_peers_and_soap_unaffected) {
  TestServer srv([](ServerConfig& c) {
    c.monitoring.rate_per_peer = 0.001;  // no refill within the test: the burst is all there is
    c.monitoring.burst_per_peer = 3;
  });
  for (int i = 0; i < 3; ++i) BOOST_TEST(status_of(srv.port(), i % 2 ? "/metrics" : "/healthz") == 200);
  auto limited = get(srv.port(), "/healthz");
  BOOST_REQUIRE(limited.has_value());
  BOOST_TEST(limited->status == 429);
  BOOST_TEST(limited->headers["retry-after"] == "1000");
  BOOST_TEST(status_of(srv.port(), "/metrics") == 429);
  // Unaccredited callers spend the same bucket: 429 before any accreditation lookup.
  BOOST_TEST(status_of(srv.port(), "/healthz", "tsm2") == 429);
  BOOST_TEST(counted(srv, "/healthz", "429", 2) == 2u);
  BOOST_TEST(counted(srv, "/metrics", "429", 1) == 1u);

  // Another address has its own bucket; SOAP requests are not limited by it.
  BOOST_TEST(status_of(srv.port(), "/healthz", "tsm1", "127.0.0.2") == 200);
  Client c = srv.client("tsm1");
  for (int i = 0; i < 5; ++i) BOOST_TEST(ok(c.ping("not a monitoring request")));
}

BOOST_AUTO_TEST_CASE(sekds_server_answers_accredited_tsms_and_monitoring_certificates) {
  // The real program: accreditation looked up in the store (main.cpp), [monitoring] from its file.
  WorldOptions o;
  o.start_server = false;
  o.accredit_tsm2 = false;
  World w(o);
  const std::map<std::string, std::string> env = {{"SOFTHSM2_CONF", w.token().conf().string()}};
  {
    TempDir dir;
    ChildServer child(dir, w.child_toml(), env);
    BOOST_TEST(status_of(child.port(), "/healthz", "tsm1") == 200);
    BOOST_TEST(status_of(child.port(), "/metrics", "tsm1") == 200);
    BOOST_TEST(status_of(child.port(), "/healthz", "tsm2") == 403);
    BOOST_TEST(status_of(child.port(), "/metrics", "tsm2") == 403);
  }
  TempDir dir;
  // A fingerprint as openssl prints it: lower case with colons is accepted too.
  std::string fp = fingerprint("tsm2"), colons;
  for (std::size_t i = 0; i < fp.size(); i += 2) colons += (i ? ":" : "") + fp.substr(i, 2);
  for (char& ch : colons) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  ChildServer child(dir, w.child_toml("[monitoring]\nfingerprints = [\"" + colons + "\"]\n"), env);
  BOOST_TEST(status_of(child.port(), "/healthz", "tsm2") == 200);
  BOOST_TEST(status_of(child.port(), "/metrics", "tsm2") == 200);
  BOOST_TEST(status_of(child.port(), "/healthz", "tsm1") == 200);
}

BOOST_AUTO_TEST_SUITE_END()
