// HTTP request framing on its own: requests split at every byte, chunked bodies, pipelining,
// and every framing the server must refuse.
#include <boost/test/unit_test.hpp>

#include <string>

#include "service/http_request_reader.h"

using sekds::service::HttpRequestReader;
using S = HttpRequestReader::State;

namespace {

constexpr std::size_t kHeader = 1024, kBody = 4096;

// Feeds `wire` in pieces of `step` bytes; NeedMore is expected before the last piece.
S feed_in_pieces(HttpRequestReader& r, const std::string& wire, std::size_t step) {
  S s = S::NeedMore;
  for (std::size_t i = 0; i < wire.size(); i += step) {
    BOOST_TEST_REQUIRE((s == S::NeedMore), "state changed before byte " << i);
    s = r.feed(std::string_view(wire).substr(i, step));
  }
  return s;
}

std::string post(const std::string& body, const std::string& extra = "") {
  return "POST /sekds/v1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string w = "POST /sekds/v1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < body.size(); i += piece) {
    std::string part = body.substr(i, piece);
    char len[16];
    std::snprintf(len, sizeof len, "%zX;ext=1\r\n", part.size());
    w += len + part + "\r\n";
  }
  return w + "0\r\nX-Trailer: y\r\n\r\n";
}

S one_shot(const std::string& wire, HttpRequestReader* out = nullptr) {
  HttpRequestReader r(kHeader, kBody);
  S s = r.feed(wire);
  if (out) *out = r;
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(http_request_reader)

BOOST_AUTO_TEST_CASE(content_length_request_split_anywhere) {
  const std::string body = "<Envelope>hello</Envelope>";
  const std::string wire = post(body);
  for (std::size_t step : {1u, 2u, 7u, 64u, 4096u}) {
    HttpRequestReader r(kHeader, kBody);
    BOOST_TEST((feed_in_pieces(r, wire, step) == S::Complete), "step " << step);
    BOOST_TEST(r.body() == body);
    BOOST_TEST(r.request() == wire);
    BOOST_TEST(r.method() == "POST");
  }
}

BOOST_AUTO_TEST_CASE(chunked_body_is_dechunked_and_request_kept_raw) {
  std::string body;
  for (int i = 0; i < 300; ++i) body += "<x>" + std::to_string(i) + "</x>";
  const std::string wire = chunked(body, 100);
  for (std::size_t step : {1u, 3u, 50u, 100000u}) {
    HttpRequestReader r(kHeader, kBody);
    BOOST_TEST((feed_in_pieces(r, wire, step) == S::Complete), "step " << step);
    BOOST_TEST(r.body() == body);
    BOOST_TEST(r.request() == wire);
  }
}

BOOST_AUTO_TEST_CASE(get_without_body_and_lf_only_lines) {
  HttpRequestReader r(kHeader, kBody);
  BOOST_TEST((r.feed("GET /healthz HTTP/1.1\nHost: x\n\n") == S::Complete));
  BOOST_TEST(r.method() == "GET");
  BOOST_TEST(r.body().empty());
}

BOOST_AUTO_TEST_CASE(pipelined_requests_come_out_one_by_one) {
  const std::string a = post("<a/>"), b = "\r\n" + post("<bb/>"), c = "GET /metrics HTTP/1.1\r\n\r\n";
  HttpRequestReader r(kHeader, kBody);
  BOOST_TEST((r.feed(a + b + c.substr(0, 5)) == S::Complete));
  BOOST_TEST(r.body() == "<a/>");
  BOOST_TEST((r.next() == S::Complete));  // the stray CRLF before the request line is skipped
  BOOST_TEST(r.body() == "<bb/>");
  BOOST_TEST((r.next() == S::NeedMore));
  BOOST_TEST(r.started());
  BOOST_TEST((r.feed(c.substr(5)) == S::Complete));
  BOOST_TEST(r.method() == "GET");
  BOOST_TEST((r.next() == S::NeedMore));
  BOOST_TEST(!r.started());
}

BOOST_AUTO_TEST_CASE(expect_continue_is_seen_once_the_header_is_complete) {
  HttpRequestReader r(kHeader, kBody);
  std::string wire = post("<a/>", "Expect: 100-continue\r\n");
  std::size_t header = wire.find("\r\n\r\n") + 4;
  BOOST_TEST((r.feed(wire.substr(0, header)) == S::NeedMore));
  BOOST_TEST(r.header_complete());
  BOOST_TEST(r.expects_continue());
  BOOST_TEST((r.feed(wire.substr(header)) == S::Complete));
}

BOOST_AUTO_TEST_CASE(oversize_bodies_are_refused_before_they_are_read) {
  HttpRequestReader r(kHeader, kBody);
  BOOST_TEST((r.feed("POST / HTTP/1.1\r\nContent-Length: 4097\r\n\r\n") == S::BodyTooLarge));
  BOOST_TEST((one_shot("POST / HTTP/1.1\r\nContent-Length: 4096\r\n\r\n") == S::NeedMore));
  // chunked: counted as the chunks are announced
  HttpRequestReader c(kHeader, kBody);
  BOOST_TEST((c.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'a') +
                     "\r\n801\r\n") == S::BodyTooLarge));
  BOOST_TEST(c.body().size() == 2048u);
}

BOOST_AUTO_TEST_CASE(oversize_header_is_refused) {
  HttpRequestReader r(kHeader, kBody);
  BOOST_TEST((r.feed("POST / HTTP/1.1\r\nX-Long: " + std::string(2000, 'a')) == S::HeaderTooLarge));
  BOOST_TEST(r.error().find("1024") != std::string::npos, r.error());
  HttpRequestReader many(kHeader, kBody);
  std::string lines = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) lines += "X-A: b\r\n";
  BOOST_TEST((many.feed(lines) == S::HeaderTooLarge));
}

BOOST_AUTO_TEST_CASE(untrustworthy_framing_is_malformed) {
  struct Case {
    const char* wire;
    const char* why;
  };
  for (const Case& c : {
           Case{"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "both"},
           Case{"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", "two different"},
           Case{"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "not a decimal"},
           Case{"POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "not a decimal"},
           Case{"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "not a decimal"},
           Case{"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "other than chunked"},
           Case{"POST / HTTP/1.1\r\nno colon here\r\n\r\n", "token followed by"},
           Case{"NOSPACE\r\n\r\n", "request line"},
           Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "hexadecimal"},
           Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n", "longer than its size"},
       }) {
    HttpRequestReader r(kHeader, kBody);
    BOOST_TEST((r.feed(c.wire) == S::Malformed), c.wire);
    BOOST_TEST(r.error().find(c.why) != std::string::npos, c.wire << " -> " << r.error());
  }
  // the same length twice is fine
  BOOST_TEST((one_shot("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab") == S::Complete));
}

BOOST_AUTO_TEST_CASE(gsoap_gets_a_request_rebuilt_from_what_the_reader_understood) {
  // Fuzz finding F4: gSOAP's header reader is looser (it matches '-' as a wildcard in names),
  // so a look-alike such as Transfer_Encoding made it de-chunk a body the guard saw raw.
  const std::string body = "<Envelope>x</Envelope>";
  HttpRequestReader r(kHeader, kBody);
  BOOST_TEST((r.feed("POST /sekds/v1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/xml\r\nSOAPAction: \"a\"\r\n"
                     "Transfer_Encoding: chunked\r\nContent_Encoding: gzip\r\nX-Other: y\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body) == S::Complete));
  BOOST_TEST(r.gsoap_request() == "POST /sekds/v1 HTTP/1.1\r\nHost: h\r\nContent-Type: text/xml\r\nSOAPAction: \"a\"\r\n"
                                  "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  // chunked: gSOAP gets the de-chunked body with its length, never the chunk framing
  HttpRequestReader c(kHeader, kBody);
  BOOST_TEST((c.feed(chunked(body, 5)) == S::Complete));
  BOOST_TEST(c.gsoap_request() == "POST /sekds/v1 HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                                      "\r\n\r\n" + body);
}

BOOST_AUTO_TEST_CASE(header_lines_are_strict) {
  // F4's other routes: a line of blanks (the reader stopped there, gSOAP read on), a NUL line
  // (gSOAP stopped there), folding; and compressed bodies (gSOAP inflates them).
  struct Case {
    std::string wire;
    S state;
    const char* why;
  };
  const std::string tail = "Content-Length: 0\r\n\r\n";
  for (const Case& c : {
           Case{"POST / HTTP/1.1\r\n   \r\n" + tail, S::Malformed, "folded or blank"},
           Case{"POST / HTTP/1.1\r\nHost: a\r\n\tfolded\r\n" + tail, S::Malformed, "folded or blank"},
           Case{std::string("POST / HTTP/1.1\r\n\0X: y\r\n", 25) + tail, S::Malformed, "token"},
           Case{std::string("POST / HTTP/1.1\r\nX: a\0b\r\n", 25) + tail, S::Malformed, "control character"},
           Case{"POST / HTTP/1.1\r\nBad Name: v\r\n" + tail, S::Malformed, "token"},
           Case{"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n" + tail, S::Unsupported, "gzip"},
           Case{"POST /a b HTTP/1.1\r\n" + tail, S::Malformed, "request line"},
           Case{"POST / HTTP/2\r\n" + tail, S::Malformed, "request line"},
           Case{"POST  / HTTP/1.1\r\n" + tail, S::Malformed, "request line"},
       }) {
    HttpRequestReader r(kHeader, kBody);
    BOOST_TEST((r.feed(c.wire) == c.state), c.wire);
    BOOST_TEST(r.error().find(c.why) != std::string::npos, r.error());
  }
  BOOST_TEST((one_shot("POST / HTTP/1.1\r\nContent-Encoding: identity\r\n" + tail) == S::Complete));
}

BOOST_AUTO_TEST_CASE(chunk_framing_is_bounded_even_in_complete_lines) {
  // Fuzz finding F5: complete chunk-size and trailer lines were never bounded.
  const std::string head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  HttpRequestReader ext(kHeader, kBody);
  BOOST_TEST((ext.feed(head + "1;" + std::string(2000, 'e') + "\r\na\r\n") == S::Malformed));
  HttpRequestReader trailers(kHeader, kBody);
  S st = trailers.feed(head + "0\r\n");
  for (int i = 0; i < 200 && st == S::NeedMore; ++i) st = trailers.feed("X-T: " + std::string(20, 't') + "\r\n");
  BOOST_TEST((st == S::HeaderTooLarge));
  HttpRequestReader pad(kHeader, kBody);
  BOOST_TEST((pad.feed(head + "1\r\na   \r\n") == S::Malformed));  // chunk end must be CRLF exactly
  // Many tiny chunks: the raw request is bounded, framing included.
  HttpRequestReader tiny(kHeader, kBody);
  st = tiny.feed(head);
  for (int i = 0; i < 4000 && st == S::NeedMore; ++i) st = tiny.feed("1;" + std::string(900, 'x') + "\r\na\r\n");
  BOOST_TEST((st == S::BodyTooLarge));
}

BOOST_AUTO_TEST_SUITE_END()
