// Hostile input over real mutual TLS: each gets a clean fault or HTTP error, nothing is
// expanded or read, and a second, well-behaved client keeps being served meanwhile.
#include <atomic>
#include <fstream>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

// A client pinging in a loop on its own keep-alive connection for the life of this object.
class Bystander {
 public:
  explicit Bystander(const TestServer& srv) : client_(srv.client("tsm2")) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto r = client_.ping("bystander");
        if (std::holds_alternative<std::string>(r)) ++ok_;
        else ++failed_;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
  }
  ~Bystander() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Waits (bounded) until the bystander has made progress past `n` calls.
  bool progressed_beyond(int n) {
    for (int i = 0; i < 3000 && ok_ <= n && failed_ == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return ok_ > n;
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }

 private:
  Client client_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0}, failed_{0};
  std::thread thread_;
};

// The SekdsFault code in a SOAP fault body, or "".
std::string fault_code_in(const std::string& body) {
  auto at = body.find(":Code>");
  if (at == std::string::npos) return "";
  auto start = at + 6;
  auto end = body.find('<', start);
  return body.substr(start, end - start);
}

struct HostileFixture {
  TestServer srv{[](ServerConfig& c) {
    c.max_message_size = 64 * 1024;
    c.max_xml_depth = 32;
  }};
  Bystander bystander{srv};

  // Sends one hand-made request on a new connection. A request the server could not read
  // completely is answered with Connection: close.
  HttpResponse send(const std::string& request, bool expect_close = true) {
    int before = bystander.ok();
    std::string err;
    auto r = tls_exchange(srv.port(), request, {}, &err);
    BOOST_REQUIRE_MESSAGE(r.has_value(), "no answer: " << err);
    if (expect_close) BOOST_TEST(r->headers["connection"] == "close");
    // the well-behaved client is still being served
    BOOST_TEST(bystander.progressed_beyond(before));
    BOOST_TEST(bystander.failed() == 0);
    return *r;
  }

  void expect_fault(const HttpResponse& r, const std::string& text) {
    BOOST_TEST((r.status == 500 || r.status == 400), r.status);
    BOOST_TEST(fault_code_in(r.body) == "InvalidArgument", r.body);
    BOOST_TEST(r.body.find(text) != std::string::npos, r.body);
  }
};

// A chunked POST of `body` to the service path, in chunks of `piece` bytes.
std::string chunked_post(const std::string& body, std::size_t piece, const std::string& extra_header = "") {
  std::string req = "POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n" +
                    extra_header + "\r\n";
  for (std::size_t i = 0; i < body.size(); i += piece) {
    std::string part = body.substr(i, piece);
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", part.size());
    req += len + part + "\r\n";
  }
  return req + "0\r\n\r\n";
}

std::string ping_body(const std::string& message) { return "<s:WSPing><s:Message>" + message + "</s:Message></s:WSPing>"; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(hostile, HostileFixture)

BOOST_AUTO_TEST_CASE(malformed_xml) {
  std::string truncated = soap11_envelope(ping_body("hi"));
  truncated.resize(truncated.size() - 40);
  expect_fault(send(soap_post(truncated)), "body ends before the document");

  std::string mismatched = soap11_envelope("<s:WSPing><s:Message>hi</s:Other></s:WSPing>");
  HttpResponse r = send(soap_post(mismatched));
  BOOST_TEST(fault_code_in(r.body) == "InvalidArgument", r.body);

  HttpResponse garbage = send(soap_post("this is not XML at all"));
  BOOST_TEST((garbage.status == 400 || garbage.status == 500));
  // a body that ends before its document is "truncated", the others "malformed"
  BOOST_TEST(eventually([&] {
    return srv.metrics().rejected_requests.with({"malformed"}).value() +
               srv.metrics().rejected_requests.with({"truncated"}).value() ==
           3u;
  }));
}

BOOST_AUTO_TEST_CASE(oversize_body_with_content_length) {
  std::string big = soap11_envelope(ping_body(std::string(70000, 'A')));
  HttpResponse r = send(soap_post(big));
  BOOST_TEST(r.status == 413);
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"oversize"}).value() == 1u; }));
}

BOOST_AUTO_TEST_CASE(oversize_chunked_body) {
  // No Content-Length: the guard counts the body as it arrives.
  std::string big = soap11_envelope("<s:WSPing><s:Message>x</s:Message></s:WSPing>", "<junk>" + std::string(80000, 'B') + "</junk>");
  HttpResponse r = send(chunked_post(big, 4000));
  BOOST_TEST(r.status == 413);
}

BOOST_AUTO_TEST_CASE(chunked_request_is_served) {
  std::string env = soap11_envelope(ping_body("chunks"));
  HttpResponse r = send(chunked_post(env, 50, "Connection: close\r\n"));
  BOOST_TEST(r.status == 200, r.raw);
  BOOST_TEST(r.body.find("chunks") != std::string::npos, r.body);
}

BOOST_AUTO_TEST_CASE(untrustworthy_framing_is_refused_with_400) {
  // Request smuggling shapes: the server refuses them rather than pick one reading.
  std::string env = soap11_envelope(ping_body("x"));
  HttpResponse both = send("POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(env.size()) +
                           "\r\nTransfer-Encoding: chunked\r\n\r\n" + env);
  BOOST_TEST(both.status == 400);
  BOOST_TEST(both.body.find("both Content-Length and Transfer-Encoding") != std::string::npos, both.body);
  HttpResponse gzip = send("POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n");
  BOOST_TEST(gzip.status == 400);
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"bad_request"}).value() == 2u; }));
}

BOOST_AUTO_TEST_CASE(oversize_header_is_refused_with_431) {
  HttpResponse r = send("POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + std::string(20000, 'h') + "\r\n\r\n");
  BOOST_TEST(r.status == 431, r.raw);
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"header_too_large"}).value() == 1u; }));
}

BOOST_AUTO_TEST_CASE(deep_nesting) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<x>";
  for (int i = 0; i < 100; ++i) deep += "</x>";
  // in a SOAP header gSOAP skips unknown content without counting levels: the guard must
  expect_fault(send(soap_post(soap11_envelope(ping_body("hi"), deep))), "nesting deeper than 32");
  expect_fault(send(soap_post(soap11_envelope("<s:WSPing><s:Message>" + deep + "</s:Message></s:WSPing>"))),
               "nesting deeper than 32");
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"xml_depth"}).value() == 2u; }));
}

BOOST_AUTO_TEST_CASE(billion_laughs) {
  std::string body =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
      " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
      " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
      " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n]>\n"
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:s=\"https://sekds.example/sekds/v1\">"
      "<soap:Body>" + ping_body("&lol4;") + "</soap:Body></soap:Envelope>";
  HttpResponse r = send(soap_post(body));
  expect_fault(r, "DTD");
  BOOST_TEST(r.raw.find("lollol") == std::string::npos);
  BOOST_TEST(eventually([&] { return srv.metrics().rejected_requests.with({"dtd"}).value() == 1u; }));
}

BOOST_AUTO_TEST_CASE(xxe_file_etc_passwd) {
  std::string passwd_line;
  std::getline(std::ifstream("/etc/passwd"), passwd_line);
  BOOST_REQUIRE(!passwd_line.empty());
  std::string body =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM \"file:///etc/passwd\"> ]>\n"
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:s=\"https://sekds.example/sekds/v1\">"
      "<soap:Body>" + ping_body("&xxe;") + "</soap:Body></soap:Envelope>";
  HttpResponse r = send(soap_post(body));
  expect_fault(r, "DTD");
  BOOST_TEST(r.raw.find(passwd_line) == std::string::npos);
  BOOST_TEST(r.raw.find("root:") == std::string::npos);

  // the entity reference alone, without a DTD: refused, not turned into a character
  HttpResponse r2 = send(soap_post(soap11_envelope(ping_body("a&xxe;b"))));
  expect_fault(r2, "undeclared XML entity");
  BOOST_TEST(r2.raw.find("root:") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(predefined_entities_still_work) {
  auto r = tls_exchange(srv.port(), soap_post(soap11_envelope(ping_body("a&amp;b&lt;c&#65;&#x42;"))));
  BOOST_REQUIRE(r);
  BOOST_TEST(r->status == 200);
  BOOST_TEST(r->body.find("a&amp;b&lt;cAB") != std::string::npos, r->body);
}

BOOST_AUTO_TEST_CASE(wrong_soap_action_and_unknown_operation) {
  // read completely, so the connection may stay open
  HttpResponse r = send(soap_post(soap11_envelope(ping_body("hi")), "https://sekds.example/sekds/v1/WSGetKekInfo"), false);
  BOOST_TEST(fault_code_in(r.body) == "InvalidArgument", r.body);
  BOOST_TEST(r.body.find("does not match") != std::string::npos, r.body);

  HttpResponse u = send(soap_post(soap11_envelope("<s:WSLaunchMissiles/>")));
  BOOST_TEST(fault_code_in(u.body) == "InvalidArgument", u.body);
  BOOST_TEST(u.body.find("WSLaunchMissiles") != std::string::npos, u.body);
}

BOOST_AUTO_TEST_CASE(non_hex_in_hex_binary) {
  std::string body = soap11_envelope(
      "<s:WSGetDiversifiedKeys><s:KeyDiversificationData>ZZ000000000000000000</s:KeyDiversificationData>"
      "<s:KeyInformation>E000</s:KeyInformation><s:SequenceCounter>0001</s:SequenceCounter>"
      "<s:KekIndex>1</s:KekIndex></s:WSGetDiversifiedKeys>");
  HttpResponse r = send(soap_post(body));
  BOOST_TEST(fault_code_in(r.body) == "InvalidArgument", r.body);
  BOOST_TEST(srv.keys().callers().empty());

  std::string short_kdd = soap11_envelope(
      "<s:WSGetDiversifiedKeys><s:KeyDiversificationData>0001</s:KeyDiversificationData>"
      "<s:KeyInformation>E000</s:KeyInformation><s:SequenceCounter>0001</s:SequenceCounter>"
      "<s:KekIndex>1</s:KekIndex></s:WSGetDiversifiedKeys>");
  HttpResponse r2 = send(soap_post(short_kdd));
  BOOST_TEST(fault_code_in(r2.body) == "InvalidArgument", r2.body);
  BOOST_TEST(srv.keys().callers().empty());
}

BOOST_AUTO_TEST_CASE(http_level_refusals) {
  BOOST_TEST(send(soap_post(soap11_envelope(ping_body("x")), "", "text/xml", "/elsewhere")).status == 404);
  BOOST_TEST(send("PUT /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi").status == 405);
  BOOST_TEST(send("DELETE /sekds/v1 HTTP/1.1\r\nHost: localhost\r\n\r\n").status == 405);
  std::string gz = "POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\nContent-Encoding: gzip\r\n"
                   "Content-Length: 4\r\n\r\nabcd";
  BOOST_TEST(send(gz).status == 415);
}

BOOST_AUTO_TEST_SUITE_END()
