// Mutual TLS: who gets in, who does not, and what the server learns about the caller.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <openssl/ssl.h>

#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

std::string ping_text(Result<std::string> r) {
  if (auto* s = std::get_if<std::string>(&r)) return *s;
  if (auto* f = std::get_if<Fault>(&r)) return std::string("fault ") + fault_code_name(f->code) + ": " + f->message;
  auto& e = std::get<TransportError>(r);
  return std::string("transport ") + transport_error_kind_name(e.kind) + ": " + e.message;
}

bool is_transport_error(const Result<std::string>& r) { return std::holds_alternative<TransportError>(r); }

std::string openssl_fingerprint(const std::string& who) {
  auto [rc, out] = run_command("openssl x509 -noout -fingerprint -sha256 -in " + pki().crt(who).string());
  BOOST_REQUIRE_EQUAL(rc, 0);
  // "sha256 Fingerprint=AB:CD:..."
  std::string hex = out.substr(out.find('=') + 1);
  std::string clean;
  for (char c : hex)
    if (std::isxdigit(static_cast<unsigned char>(c))) clean += c;
  return clean;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(transport)

BOOST_AUTO_TEST_CASE(ping_over_mtls_soap11_and_soap12) {
  TestServer srv;
  for (int version : {11, 12}) {
    Client c = srv.client("tsm1", version);
    BOOST_TEST(ping_text(c.ping("hello " + std::to_string(version))) == "hello " + std::to_string(version));
    // keep-alive: a second call on the same connection
    BOOST_TEST(ping_text(c.ping("again")) == "again");
  }
  BOOST_TEST(srv.metrics().connections_accepted.value() == 2u);  // one connection per client
  BOOST_TEST(eventually([&] { return srv.metrics().requests.with({"WSPing", "none"}).value() == 4u; }));
}

BOOST_AUTO_TEST_CASE(soap_version_of_the_answer_follows_the_request) {
  TestServer srv;
  std::string body11 = soap11_envelope("<s:WSPing><s:Message>v11</s:Message></s:WSPing>");
  auto r11 = tls_exchange(srv.port(), soap_post(body11));
  BOOST_REQUIRE(r11);
  BOOST_TEST(r11->status == 200);
  BOOST_TEST(r11->headers["content-type"].rfind("text/xml", 0) == 0);
  BOOST_TEST(r11->body.find("http://schemas.xmlsoap.org/soap/envelope/") != std::string::npos);

  std::string body12 =
      "<?xml version=\"1.0\"?><env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" "
      "xmlns:s=\"https://sekds.example/sekds/v1\"><env:Body><s:WSPing><s:Message>v12</s:Message></s:WSPing>"
      "</env:Body></env:Envelope>";
  auto r12 = tls_exchange(srv.port(), soap_post(body12, "", "application/soap+xml; charset=utf-8"));
  BOOST_REQUIRE(r12);
  BOOST_TEST(r12->status == 200);
  BOOST_TEST(r12->headers["content-type"].rfind("application/soap+xml", 0) == 0);
  BOOST_TEST(r12->body.find("http://www.w3.org/2003/05/soap-envelope") != std::string::npos);
  BOOST_TEST(r12->body.find("v12") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(client_without_certificate_is_refused) {
  TestServer srv;
  // Raw TLS without a certificate: with TLS 1.3 the handshake completes on the client side and
  // the refusal shows on the first read (TOOLCHAIN gotcha 4), so exchange a request.
  TlsClientConfig none;
  none.who = "";
  std::string err;
  auto r = tls_exchange(srv.port(), soap_post(soap11_envelope("<s:WSPing><s:Message>x</s:Message></s:WSPing>")), none,
                        &err);
  BOOST_TEST(!r.has_value());
  BOOST_TEST_MESSAGE("no certificate: " << err);
  BOOST_TEST(eventually([&] { return srv.metrics().connections_rejected.with({"tls_handshake"}).value() >= 1u; }));
  BOOST_TEST(srv.metrics().requests.with({"WSPing", "none"}).value() == 0u);
}

BOOST_AUTO_TEST_CASE(client_certificate_from_another_ca_is_refused) {
  TestServer srv;
  Client rogue = srv.client("rogue");  // CN=tsm1, but issued by the rogue CA
  auto r = rogue.ping("let me in");
  BOOST_TEST_MESSAGE("rogue: " << ping_text(r));
  BOOST_TEST(is_transport_error(r));
  BOOST_TEST(eventually([&] { return srv.metrics().connections_rejected.with({"tls_handshake"}).value() >= 1u; }));
  BOOST_TEST(srv.keys().callers().empty());
}

BOOST_AUTO_TEST_CASE(revoked_client_certificate_is_refused_with_the_crl) {
  TestServer srv;  // test_config() sets tls.crl (tsm3 is revoked there)
  auto r = srv.client("tsm3").ping("revoked");
  BOOST_TEST_MESSAGE("tsm3: " << ping_text(r));
  BOOST_TEST(is_transport_error(r));
  BOOST_TEST(ping_text(srv.client("tsm2").ping("fine")) == "fine");
}

BOOST_AUTO_TEST_CASE(rogue_ca_in_ssl_cert_file_does_not_help) {
  // sekds-server as a child whose OpenSSL default trust store is the rogue CA: without
  // SOAP_SSL_NO_DEFAULT_CA_PATH it would accept the rogue client (TOOLCHAIN gotcha 1).
  TempDir dir;
  ChildServer child(dir, child_config_toml(), {{"SSL_CERT_FILE", pki().crt("rogue-ca").string()},
                                               {"SSL_CERT_DIR", dir.path().string()}});
  ClientOptions o;
  o.endpoint = "https://localhost:" + std::to_string(child.port()) + "/sekds/v1";
  o.ca_file = pki().crt("ca");
  o.certificate = pki().crt("rogue");
  o.private_key = pki().key("rogue");
  auto r = Client(o).ping("rogue");
  BOOST_TEST_MESSAGE("rogue vs child: " << ping_text(r));
  BOOST_TEST(is_transport_error(r));
  o.certificate = pki().crt("tsm1");
  o.private_key = pki().key("tsm1");
  BOOST_TEST(ping_text(Client(o).ping("genuine")) == "genuine");
  BOOST_TEST(child.signal_and_wait(SIGTERM) == 0);
}

BOOST_AUTO_TEST_CASE(tls_1_1_is_refused_tls_1_2_and_1_3_work) {
  TestServer srv;
  TlsClientConfig old;
  old.min_version = TLS1_1_VERSION;
  old.max_version = TLS1_1_VERSION;
  old.cipher_list = "DEFAULT@SECLEVEL=0";  // so the refusal comes from the server, not our own client
  std::string err = tls_handshake_error(srv.port(), old);
  BOOST_TEST_MESSAGE("TLS 1.1: " << err);
  BOOST_TEST(err.find("protocol version") != std::string::npos);

  TlsClientConfig v12;
  v12.min_version = v12.max_version = TLS1_2_VERSION;
  BOOST_TEST(tls_handshake_error(srv.port(), v12) == "");
  TlsClientConfig v13;
  v13.min_version = v13.max_version = TLS1_3_VERSION;
  BOOST_TEST(tls_handshake_error(srv.port(), v13) == "");
}

BOOST_AUTO_TEST_CASE(min_version_1_3_refuses_tls_1_2) {
  TestServer srv([](ServerConfig& c) { c.tls.min_version = "1.3"; });
  TlsClientConfig v12;
  v12.min_version = v12.max_version = TLS1_2_VERSION;
  std::string err = tls_handshake_error(srv.port(), v12);
  BOOST_TEST(err.find("protocol version") != std::string::npos, err);
}

BOOST_AUTO_TEST_CASE(caller_identity_matches_openssl_fingerprint) {
  TestServer srv;
  srv.client("tsm1").get_kek_info();
  srv.client("tsm2").get_kek_info();
  auto callers = srv.keys().callers();
  BOOST_REQUIRE_EQUAL(callers.size(), 2u);
  BOOST_TEST(callers[0].cert_sha256_hex == openssl_fingerprint("tsm1"));
  BOOST_TEST(callers[1].cert_sha256_hex == openssl_fingerprint("tsm2"));
  BOOST_TEST(callers[0].cert_sha256_hex != callers[1].cert_sha256_hex);
  BOOST_TEST(callers[0].subject == "CN=tsm1,O=sekds DEMO ONLY");
  BOOST_TEST(callers[0].peer_address.rfind("127.0.0.1:", 0) == 0);
}

BOOST_AUTO_TEST_CASE(client_checks_the_server_host_name) {
  TestServer srv;
  ClientOptions o = srv.client_options();
  o.endpoint = "https://127.0.0.2:" + std::to_string(srv.port()) + "/sekds/v1";  // not in the SAN
  auto r = Client(o).ping("x");
  BOOST_TEST_MESSAGE("wrong host: " << ping_text(r));
  BOOST_TEST(is_transport_error(r));
}

BOOST_AUTO_TEST_CASE(client_reports_transport_causes) {
  ClientOptions o;
  {
    TestServer srv;
    o = srv.client_options();
  }  // stopped: nothing listens on that port now
  auto r = Client(o).ping("anyone?");
  BOOST_REQUIRE(is_transport_error(r));
  BOOST_TEST((std::get<TransportError>(r).kind == TransportError::Kind::ConnectionRefused), ping_text(r));

  ClientOptions bad = o;
  bad.private_key = pki().key("tsm2");  // does not match tsm1's certificate
  BOOST_CHECK_THROW(Client{bad}, ClientError);
  bad = o;
  bad.certificate = pki().dir / "missing.crt";
  BOOST_CHECK_THROW(Client{bad}, ClientError);
}

BOOST_AUTO_TEST_CASE(client_reports_timeouts) {
  // A listener that never answers: the TLS handshake times out.
  int l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  BOOST_REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(l, 4) == 0);
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  ClientOptions o;
  {
    TestServer srv;
    o = srv.client_options();
  }
  o.endpoint = "https://localhost:" + std::to_string(ntohs(a.sin_port)) + "/sekds/v1";
  o.recv_timeout_s = o.send_timeout_s = 1;
  auto r = Client(o).ping("hello?");
  ::close(l);
  BOOST_REQUIRE(is_transport_error(r));
  BOOST_TEST((std::get<TransportError>(r).kind == TransportError::Kind::Timeout), ping_text(r));

  // A server whose answer takes longer than the client waits.
  TestServer slow;
  slow.keys().on_kek_info([](const CallerIdentity&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    return std::vector<KekInfo>{};
  });
  ClientOptions so = slow.client_options();
  so.recv_timeout_s = 1;
  auto k = Client(so).get_kek_info();
  BOOST_REQUIRE(std::holds_alternative<TransportError>(k));
  BOOST_TEST((std::get<TransportError>(k).kind == TransportError::Kind::Timeout), std::get<TransportError>(k).message);
}

BOOST_AUTO_TEST_SUITE_END()
