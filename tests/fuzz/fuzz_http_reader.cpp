// fuzz_http_reader: the HTTP framer of sekds-server (service::HttpRequestReader), which reads a
// request to its end before any soap context sees it. The input is what a client sends on one
// connection (one request, several pipelined, or garbage), fed the way the event loop feeds it:
// while the reader needs more, then next() after each complete request.
// Limits: a 512-byte header and a 1,024-byte body, so that inputs of a few KB reach both.
// Invariants:
//  - nothing but a state comes out (no exception, no sanitizer report);
//  - Complete: body() is at most the body limit; request() is the next bytes of the input
//    (after the blank lines the reader skips between requests) and has a method;
//  - BodyTooLarge / HeaderTooLarge / Malformed come with an error text;
//  - the same bytes fed in one piece, one byte at a time, or cut in three places give the same
//    states, and the same requests and bodies when complete (a client cannot change the
//    outcome by how it cuts its bytes);
//  - gSOAP agrees on the body: for a POST the reader found complete, gSOAP (with the server's
//    header refusals) reads gsoap_request() from memory, as the server's on_recv hands it; it
//    must neither de-chunk nor inflate, and what its parser receives after the header must be
//    the body the guard will judge (reader.body()), or a prefix of it if gSOAP stops on an
//    error. Otherwise a request smuggles bytes past the RequestGuard (finding F4, fixed).
// SEKDS_FUZZ_TRACE=1 prints what the reader and gSOAP made of each request.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <strings.h>

#include "fuzz_check.h"
#include "service/http_request_reader.h"
#include "stdsoap2.h"

namespace {

using sekds::service::HttpRequestReader;
using State = HttpRequestReader::State;

constexpr std::size_t kMaxHeader = 512;
constexpr std::size_t kMaxBody = 1024;
constexpr int kMaxRequests = 8;  // per input: enough pipelining, bounded work

bool trace() {
  static const bool on = std::getenv("SEKDS_FUZZ_TRACE") != nullptr;
  return on;
}

const char* state_name(State s) {
  switch (s) {
    case State::NeedMore: return "NeedMore";
    case State::Complete: return "Complete";
    case State::BodyTooLarge: return "BodyTooLarge";
    case State::HeaderTooLarge: return "HeaderTooLarge";
    case State::Malformed: return "Malformed";
    case State::Unsupported: return "Unsupported";
  }
  return "?";
}

// What the server acts on: the state, and for a complete request its bytes, body and method.
// (A refused request's partial body depends on how much had arrived: it is never used.)
struct Outcome {
  State state;
  std::string request, body, method;
  std::string error;  // not compared: only to recognise a known finding
  bool operator==(const Outcome& o) const {
    return state == o.state && (state != State::Complete || (request == o.request && body == o.body && method == o.method));
  }
};

// ---- gSOAP's view of a complete request ----

struct GsoapView {
  std::string_view request;
  std::size_t pos = 0;
  bool header_parsed = false;
  std::string body;  // what gSOAP hands its parser after the header
  std::size_t header_size = 0;  // how much of request() gSOAP took for the header
  bool chunked = false, inflates = false;  // what gSOAP made of the header
  int (*http_parse)(struct soap*) = nullptr;
  int (*http_parse_header)(struct soap*, const char*, const char*) = nullptr;
};

GsoapView& view_of(struct soap* s) { return *static_cast<GsoapView*>(s->user); }

std::size_t view_recv(struct soap* s, char* buf, std::size_t len) {
  GsoapView& v = view_of(s);
  std::size_t n = std::min(len, v.request.size() - v.pos);
  std::memcpy(buf, v.request.data() + v.pos, n);
  v.pos += n;
  return n;
}

int view_parse(struct soap* s) {
  GsoapView& v = view_of(s);
  int rc = v.http_parse(s);
  if (rc != SOAP_OK) return rc;
  v.header_parsed = true;
  v.header_size = v.pos - (s->buflen - s->bufidx);
  v.chunked = (s->imode & SOAP_IO) == SOAP_IO_CHUNK;
  v.inflates = s->zlib_in != SOAP_ZLIB_NONE;
  return SOAP_OK;
}

// The server's on_parse_header refusals (request.cpp): a Content-Length over the limit (413)
// and any Content-Encoding but identity (415). Those requests never reach the XML parser.
int view_parse_header(struct soap* s, const char* key, const char* val) {
  if (!strcasecmp(key, "Content-Length")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(val, &end, 10);
    if (end == val || n > kMaxBody) return 413;
  } else if (!strcasecmp(key, "Content-Encoding")) {
    if (strcasecmp(val, "identity") != 0) return 415;
    return SOAP_OK;
  }
  return view_of(s).http_parse_header(s, key, val);
}

int view_prepare(struct soap* s, const char* buf, std::size_t len) {
  GsoapView& v = view_of(s);
  if (v.header_parsed) v.body.append(buf, len);
  return SOAP_OK;
}

int view_send(struct soap*, const char*, std::size_t) { return SOAP_OK; }

struct Gsoap {
  Gsoap() {
    soap = soap_new2(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT, SOAP_IO_KEEPALIVE);
    soap->recv_maxlength = kMaxBody + 64 * 1024;
    http_parse = soap->fparse;
    http_parse_header = soap->fparsehdr;
  }
  ~Gsoap() {
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
  }
  struct soap* soap;
  int (*http_parse)(struct soap*);
  int (*http_parse_header)(struct soap*, const char*, const char*);
};

void check_gsoap_agrees(const HttpRequestReader& reader) {
  static Gsoap g;
  struct soap* s = g.soap;
  GsoapView v;
  v.request = reader.gsoap_request();  // what the server hands gSOAP (request.cpp on_recv)
  v.http_parse = g.http_parse;
  v.http_parse_header = g.http_parse_header;
  s->user = &v;
  s->frecv = view_recv;
  s->fsend = view_send;
  s->fparse = view_parse;
  s->fparsehdr = view_parse_header;
  s->fpreparerecv = view_prepare;
  s->socket = SOAP_INVALID_SOCKET;
  s->error = SOAP_OK;
  soap_begin(s);
  int err = soap_begin_recv(s);
  if (v.header_parsed && s->status == SOAP_POST) {
    // Let gSOAP receive the whole body (its XML parser would, byte by byte).
    while (soap_get1(s) != static_cast<soap_wchar>(EOF)) {
    }
    if (trace())
      std::fprintf(stderr, "  gSOAP: begin_recv %d, error %d, body of %zu bytes%s\n", err, s->error, v.body.size(),
                   (s->mode & SOAP_IO) == SOAP_IO_CHUNK ? " (chunked)" : "");
    // Finding F4 (fixed): gSOAP must read exactly the body the guard judges, never more.
    std::string_view body = reader.body();
    FUZZ_CHECK(!v.chunked && !v.inflates, "gSOAP de-chunks or inflates what the reader already framed");
    FUZZ_CHECK(v.body.size() <= body.size() && std::string_view(v.body) == body.substr(0, v.body.size()),
               "gSOAP reads a body the guard would not judge (framing differs between the reader and gSOAP)");
  } else if (trace()) {
    std::fprintf(stderr, "  gSOAP: begin_recv %d, status %d: no body parsed\n", err, s->status);
  }
  s->user = nullptr;
  soap_destroy(s);
  soap_end(s);
}

// ---- the reader, fed as the event loop feeds it ----

// Feeds `pieces` in order; returns every request's outcome (the last one may be NeedMore).
std::vector<Outcome> run(const std::vector<std::string_view>& pieces, bool check) {
  HttpRequestReader reader(kMaxHeader, kMaxBody);
  std::vector<Outcome> out;
  std::string fed;             // every byte fed so far
  std::size_t consumed = 0;    // bytes of `fed` belonging to earlier requests
  State st = State::NeedMore;
  auto settle = [&]() {  // what the server does once the state is not NeedMore
    while (st != State::NeedMore && static_cast<int>(out.size()) < kMaxRequests) {
      out.push_back({st, std::string(reader.request()), std::string(reader.body()), reader.method(), reader.error()});
      if (check) {
        if (trace())
          std::fprintf(stderr, "request %zu: %s, %s request of %zu bytes, body %zu bytes%s%s\n", out.size(),
                       state_name(st), reader.method().c_str(), reader.request().size(), reader.body().size(),
                       reader.error().empty() ? "" : ": ", reader.error().c_str());
        if (st == State::Complete) {
          FUZZ_CHECK(reader.body().size() <= kMaxBody, "a complete body larger than the limit");
          while (consumed < fed.size() && (fed[consumed] == '\r' || fed[consumed] == '\n')) ++consumed;
          std::string_view req = reader.request();
          FUZZ_CHECK(std::string_view(fed).substr(consumed, req.size()) == req,
                     "request() is not the next bytes received");
          FUZZ_CHECK(reader.header_complete() && !reader.method().empty(), "a complete request without a method");
          consumed += req.size();
          if (reader.method() == "POST") check_gsoap_agrees(reader);
        } else {
          FUZZ_CHECK(!reader.error().empty(), "a refusal without an error text");
        }
      }
      if (st != State::Complete) return;  // the server answers and closes
      st = reader.next();
    }
  };
  for (std::string_view p : pieces) {
    if (static_cast<int>(out.size()) >= kMaxRequests) break;
    if (!out.empty() && out.back().state != State::Complete) break;
    fed.append(p);
    st = reader.feed(p);
    settle();
    if (!out.empty() && out.back().state != State::Complete) break;
  }
  if (static_cast<int>(out.size()) < kMaxRequests && (out.empty() || out.back().state == State::Complete))
    out.push_back({st, std::string(reader.request()), std::string(reader.body()), reader.method(), reader.error()});
  return out;
}

std::uint64_t mix(const std::uint8_t* data, std::size_t size) {  // FNV-1a, mixed: where to cut
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  h ^= h >> 33;  // MurmurHash3's fmix64: FNV's low bits alone are poorly mixed
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

void compare(const std::vector<Outcome>& a, const std::vector<Outcome>& b, const char* how) {
  bool same = a.size() == b.size();
  std::size_t i = 0;
  for (; i < std::min(a.size(), b.size()); ++i)
    if (!(a[i] == b[i])) break;
  same = same && i == a.size();
  if (!same) {
    std::fprintf(stderr, "fed in one piece: %zu outcomes; %s: %zu outcomes\n", a.size(), how, b.size());
    for (std::size_t k = 0; k < std::max(a.size(), b.size()); ++k)
      std::fprintf(stderr, "  #%zu: %s / %s\n", k + 1, k < a.size() ? state_name(a[k].state) : "-",
                   k < b.size() ? state_name(b[k].state) : "-");
  }
  FUZZ_CHECK(same, "the same bytes cut differently give another outcome");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  const std::vector<Outcome> whole = run({all}, true);

  std::vector<std::string_view> bytes;
  bytes.reserve(size);
  for (std::size_t i = 0; i < size; ++i) bytes.push_back(all.substr(i, 1));
  compare(whole, run(bytes, false), "one byte at a time");

  const std::uint64_t h = mix(data, size);
  std::size_t c[3];
  for (int i = 0; i < 3; ++i) c[i] = size ? static_cast<std::size_t>((h >> (20 * i)) % (size + 1)) : 0;
  std::sort(c, c + 3);
  compare(whole, run({all.substr(0, c[0]), all.substr(c[0], c[1] - c[0]), all.substr(c[1], c[2] - c[1]), all.substr(c[2])}, false),
          "cut in three places");
  return 0;
}
