// Connection limits: the max_connections cap and the idle timeout.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

bool ok(const Result<std::string>& r) { return std::holds_alternative<std::string>(r); }

}  // namespace

BOOST_AUTO_TEST_SUITE(limits)

BOOST_AUTO_TEST_CASE(max_connections_refuses_beyond_the_cap) {
  TestServer srv([](ServerConfig& c) { c.max_connections = 2; });
  Client a = srv.client("tsm1");
  Client b = srv.client("tsm2");
  BOOST_REQUIRE(ok(a.ping("a")));
  BOOST_REQUIRE(ok(b.ping("b")));
  Client third = srv.client("tsm1");
  auto refused = third.ping("c");
  BOOST_REQUIRE(std::holds_alternative<TransportError>(refused));
  BOOST_TEST_MESSAGE("third: " << std::get<TransportError>(refused).message);
  BOOST_TEST(eventually([&] { return srv.metrics().connections_rejected.with({"max_connections"}).value() >= 1u; }));
  // the two admitted connections are unaffected
  BOOST_TEST(ok(a.ping("a2")));
  BOOST_TEST(ok(b.ping("b2")));
  // a slot frees up when a client leaves
  a.disconnect();
  BOOST_REQUIRE(eventually([&] { return srv.metrics().open_connections.value() <= 1; }));
  BOOST_TEST(ok(third.ping("c2")));
}

BOOST_AUTO_TEST_CASE(idle_connections_are_closed) {
  TestServer srv([](ServerConfig& c) { c.idle_timeout_s = 1; });
  Client c = srv.client();
  BOOST_REQUIRE(ok(c.ping("first")));
  BOOST_REQUIRE(eventually([&] { return srv.metrics().idle_closed.value() >= 1u; }));
  BOOST_REQUIRE(eventually([&] { return srv.metrics().open_connections.value() == 0; }));
  // the client notices the closed connection and reconnects by itself
  BOOST_TEST(ok(c.ping("second")));
  BOOST_TEST(srv.metrics().connections_accepted.value() == 2u);
}

BOOST_AUTO_TEST_CASE(silent_connections_hold_no_worker_and_time_out) {
  // One worker. Connections that never start their TLS handshake wait in epoll, not in the
  // worker: a real client is served meanwhile, and the silent ones are closed at the deadline.
  TestServer srv([](ServerConfig& c) {
    c.workers = 1;
    c.handshake_timeout_s = 1;
  });
  int silent1 = tcp_connect_loopback(srv.port());
  int silent2 = tcp_connect_loopback(srv.port());
  BOOST_REQUIRE(silent1 >= 0 && silent2 >= 0);
  Client c = srv.client();
  for (int i = 0; i < 10; ++i) BOOST_TEST(ok(c.ping("through")));
  BOOST_TEST(eventually([&] {
    return srv.metrics().connections_rejected.with({"tls_handshake_timeout"}).value() == 2u;
  }));
  char byte;
  BOOST_TEST(::recv(silent1, &byte, 1, 0) == 0);  // closed by the server
  ::close(silent1);
  ::close(silent2);
  BOOST_TEST(ok(c.ping("still fine")));
}

BOOST_AUTO_TEST_CASE(a_trickling_request_is_cut_off_by_request_timeout) {
  // Slowloris: one byte every 200 ms keeps every single read within recv_timeout, but the
  // whole request must arrive within request_timeout.
  TestServer srv([](ServerConfig& c) {
    c.workers = 2;
    c.recv_timeout_s = 5;
    c.request_timeout_s = 2;
  });
  std::string head = "POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Length: 60000\r\n\r\n<";
  std::optional<HttpResponse> r;
  std::thread slow([&] { r = trickle(srv.port(), head, 200, 30); });
  Client c = srv.client();  // served meanwhile by the other worker
  for (int i = 0; i < 5; ++i) BOOST_TEST(ok(c.ping("meanwhile")));
  slow.join();
  BOOST_REQUIRE_MESSAGE(r.has_value(), "the server kept reading the trickle");
  BOOST_TEST(r->status == 408, r->raw);
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"timeout"}).value() == 1u; }));
}

BOOST_AUTO_TEST_SUITE_END()
