// fuzz_soap_request: the request path of sekds-server without the network. The input is a
// request body (or anything a client may send as one); it goes through what the server does
// with a request since commit e8bf847, in the same order and with the same limits:
//   1. the HTTP request (a fixed header, the input as its body, framed by Content-Length or
//      sent chunked in pieces, as chosen by a hash of the input) is fed in two pieces, as TLS
//      records would cut it, to the server's HttpRequestReader, which must find it Complete
//      with the input as its de-chunked body;
//   2. a gSOAP context with the listener's settings (SOAP_XML_STRICT, keep-alive,
//      maxlevel = max_xml_depth, maxoccurs 1024, recv_maxlength) reads that request from memory
//      (frecv); once gSOAP has parsed the HTTP header, the RequestGuard judges the whole
//      de-chunked body (size, DTD, entities, depth, truncation) and a violation stops gSOAP
//      with 400 before its XML parser starts (the server's on_parse);
//   3. otherwise soap_begin_recv / envelope / header / body, the generated dispatcher,
//      soapconv::request_from_soap (WSDL limits), the card request checks of
//      service/request_validation.h (parse_card_request, check_card_against_key_set,
//      request_digest), and the answer serialised (response or fault) into a sink.
// Invariants: nothing but a status comes out (no exception, no sanitizer report); the reader
// frames the request it was given; gSOAP receives for its XML parser only bytes of the body the
// guard judged; a guard violation ends the request with 400 before gSOAP's XML parser runs;
// an operation is reached only when the guard passed the whole body; converted requests
// satisfy validate(); a card request agrees with the request it came from; a WSPing message
// the server would echo has no control characters.
//
// The server's hooks themselves (request.cpp: on_parse, on_recv) are internal to src/service;
// this target carries a copy of what they do (see README.md for the seam that would let it run
// them). Its header is fixed: fuzz_http_reader fuzzes the framing.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_check.h"
#include "service/config.h"
#include "service/http_request_reader.h"
#include "service/key_service.h"
#include "service/request_guard.h"
#include "service/soap_convert.h"
#include "soapSekdsSoap11Service.h"
#if SEKDS_FUZZ_REQUEST_VALIDATION
#include "service/request_validation.h"
#endif

namespace {

using namespace sekds;
using service::Fault;
using service::FaultCode;
using service::HttpRequestReader;
using service::RequestGuard;

// server_internal.h's kMaxRequestHeader (internal to src/service).
constexpr std::size_t kMaxRequestHeader = 16384;

struct Input {
  const HttpRequestReader* reader = nullptr;
  std::size_t read_pos = 0;  // how far gSOAP has read reader->request()
  RequestGuard* guard = nullptr;
  bool header_parsed = false;  // gSOAP has parsed the HTTP header: what it reads now is the body
  std::string received;        // what gSOAP receives after the header (de-chunked by gSOAP)
  bool operation = false;      // an operation was reached
  int (*http_parse)(struct soap*) = nullptr;
};

// SEKDS_FUZZ_TRACE=1: what happened to each input, on stderr.
bool trace() {
  static const bool on = std::getenv("SEKDS_FUZZ_TRACE") != nullptr;
  return on;
}

Input& input_of(struct soap* s) { return *static_cast<Input*>(s->user); }

// The server's on_recv: gSOAP reads the request the reader framed, from memory; 0 at its end.
std::size_t memory_recv(struct soap* s, char* buf, std::size_t len) {
  Input& in = input_of(s);
  std::string_view req = in.reader->gsoap_request();  // what the server's on_recv hands gSOAP
  std::size_t n = std::min(len, req.size() - std::min(in.read_pos, req.size()));
  std::memcpy(buf, req.data() + in.read_pos, n);
  in.read_pos += n;
  return n;
}

// The server's on_parse (the method and path checks cannot fail on this target's header): the
// guard judges the whole body before the XML parser sees a byte; a violation answers 400.
int http_parse(struct soap* s) {
  Input& in = input_of(s);
  int rc = in.http_parse(s);
  if (rc != SOAP_OK) return rc;
  std::string_view body = in.reader->body();
  in.guard->expect_length(body.size());
  const RequestGuard::Violation v = in.guard->feed(body);
  if (trace()) std::fprintf(stderr, "guard over %zu body bytes: %s\n", body.size(), RequestGuard::name(v));
  in.header_parsed = true;
  return v == RequestGuard::Violation::None ? SOAP_OK : 400;
}

// Only an observer: what gSOAP receives after the header, for its XML parser (the server sets no
// such hook).
int observe_recv(struct soap* s, const char* buf, std::size_t len) {
  Input& in = input_of(s);
  if (in.header_parsed) in.received.append(buf, len);
  return SOAP_OK;
}

int sink_send(struct soap*, const char*, std::size_t) { return SOAP_OK; }

bool is_clean_text(const std::string& s) {
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return false;
  return true;
}

void check_fault(const Fault& f) {
  if (trace()) std::fprintf(stderr, "fault %s: %s\n", service::fault_code_name(f.code), f.message.c_str());
  FUZZ_CHECK(!f.message.empty(), "a fault without a message");
  FUZZ_CHECK(service::fault_code_name(f.code) != nullptr, "a fault code without a name");
}

#if SEKDS_FUZZ_REQUEST_VALIDATION
void check_card_request(const service::GetKeysRequest& r) {
  const auto parsed = service::parse_card_request(r);
  if (const Fault* f = std::get_if<Fault>(&parsed)) {
    check_fault(*f);
    FUZZ_CHECK(f->code == FaultCode::InvalidArgument || f->code == FaultCode::KeyInformationMismatch,
               "parse_card_request answered another fault than InvalidArgument / KeyInformationMismatch");
    return;
  }
  const service::CardRequest& c = std::get<service::CardRequest>(parsed);
  if (trace()) std::fprintf(stderr, "card request: KVN %s, KDD %s\n", service::kvn_text(c.kvn).c_str(), c.kdd.hex().c_str());
  FUZZ_CHECK(gp::Bytes(c.kdd.bytes().begin(), c.kdd.bytes().end()) == r.kdd, "CardRequest KDD differs from the request's");
  FUZZ_CHECK(c.counter.value_bytes() == r.sequence_counter, "CardRequest counter differs from the request's");
  FUZZ_CHECK(!r.key_set_version || *r.key_set_version == c.kvn, "CardRequest KVN is not the requested KeySetVersion");
  FUZZ_CHECK(c.key_set.kvn == c.kvn && c.key_set.has_enc_mac_dek(), "CardRequest key set is not ENC/MAC/DEK");
  FUZZ_CHECK(c.key_information.check_key_set(c.kvn).ok(), "CardRequest key set does not pass check_key_set");
  for (std::uint8_t scp : {std::uint8_t{2}, std::uint8_t{3}})
    for (gp::KeyType t : {gp::KeyType::Des2, gp::KeyType::Des3, gp::KeyType::Aes128, gp::KeyType::Aes192,
                          gp::KeyType::Aes256})
      if (auto f = service::check_card_against_key_set(c, scp, t)) check_fault(*f);
  const std::string d = service::request_digest(r);
  FUZZ_CHECK(d.size() == 64 && d == service::request_digest(service::GetKeysRequest(r)), "request digest");
}
#endif

// The operations, as SoapEndpoint implements them over a KeyService that validates and then
// answers with fixed, well-formed values (so answers are serialised too).
class FuzzEndpoint final : public SekdsSoap11Service {
 public:
  explicit FuzzEndpoint(struct soap* s) : SekdsSoap11Service(s) {}

  int WSGetDiversifiedKeys(_sekds__WSGetDiversifiedKeys* in, _sekds__WSGetDiversifiedKeysResponse& out) override {
    if (int e = begin("WSGetDiversifiedKeys")) return e;
    if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSGetDiversifiedKeys"});
    auto converted = service::soapconv::request_from_soap(*in);
    if (const Fault* f = std::get_if<Fault>(&converted)) {
      check_fault(*f);
      return fault(*f);
    }
    const service::GetKeysRequest& r = std::get<service::GetKeysRequest>(converted);
    FUZZ_CHECK(!service::validate(r), "request_from_soap passed a request that validate() refuses");
#if SEKDS_FUZZ_REQUEST_VALIDATION
    check_card_request(r);
#endif
    service::GetKeysResponse resp;
    resp.key_set_version = r.key_set_version.value_or(0x30);
    resp.key_type = gp::KeyType::Aes128;
    resp.scp = 3;
    resp.kek_index = r.kek_index;
    resp.kek_kcv = {0x01, 0x02, 0x03};
    for (service::WrappedKeyOut* k : {&resp.enc, &resp.mac, &resp.dek}) {
      k->wrapped_key.assign(24, 0xA6);
      k->kcv = {0x0A, 0x0B, 0x0C};
    }
    resp.audit_id = "1";
    auto problem = service::soapconv::response_to_soap(soap, resp, out);
    FUZZ_CHECK(!problem, "a well-formed response was refused by response_to_soap");
    return SOAP_OK;
  }

  int WSGetKekInfo(_sekds__WSGetKekInfo* in, _sekds__WSGetKekInfoResponse& out) override {
    if (int e = begin("WSGetKekInfo")) return e;
    if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSGetKekInfo"});
    std::vector<service::KekInfo> keks(2);
    keks[0] = {1, "AES256", {0x11, 0x22, 0x33}, "active", "2026-01-01T00:00:00Z", std::nullopt};
    keks[1] = {2, "AES128", {0x44, 0x55, 0x66}, "pending", std::nullopt, std::nullopt};
    auto problem = service::soapconv::kek_info_to_soap(soap, keks, out);
    FUZZ_CHECK(!problem, "well-formed KEK info was refused by kek_info_to_soap");
    return SOAP_OK;
  }

  int WSPing(_sekds__WSPing* in, _sekds__WSPingResponse& out) override {
    if (int e = begin("WSPing")) return e;
    if (in == nullptr) return fault({FaultCode::InvalidArgument, "empty WSPing"});
    if (!is_clean_text(in->Message)) return fault({FaultCode::InvalidArgument, "Message contains control characters"});
    out.Message = in->Message;
    return SOAP_OK;
  }

  int WSGetDiversifiedKeys_(_sekds__WSGetDiversifiedKeys* in, _sekds__WSGetDiversifiedKeysResponse& out) override {
    return WSGetDiversifiedKeys(in, out);
  }
  int WSGetKekInfo_(_sekds__WSGetKekInfo* in, _sekds__WSGetKekInfoResponse& out) override { return WSGetKekInfo(in, out); }
  int WSPing_(_sekds__WSPing* in, _sekds__WSPingResponse& out) override { return WSPing(in, out); }
  SekdsSoap11Service* copy() override { return nullptr; }

 private:
  int begin(const char* operation) {
    Input& in = input_of(soap);
    if (trace()) std::fprintf(stderr, "operation %s (guard: %s)\n", operation, RequestGuard::name(in.guard->violation()));
    FUZZ_CHECK(in.guard->violation() == RequestGuard::Violation::None, "an operation ran on a body the guard refused");
    FUZZ_CHECK(in.guard->bytes() == in.reader->body().size(), "an operation ran on a body the guard did not judge whole");
    in.operation = true;
    return SOAP_OK;
  }
  int fault(const Fault& f) { return service::soapconv::set_fault(soap, f); }
};

struct Context {
  Context() {
    const service::ServerConfig defaults;
    max_body = defaults.max_message_size;
    max_depth = defaults.max_xml_depth;
    soap = soap_new2(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT, SOAP_IO_KEEPALIVE);
    soap->maxlevel = max_depth;
    soap->maxoccurs = 1024;
    soap->recv_maxlength = max_body + 64 * 1024;
    http_parse = soap->fparse;  // gSOAP's own, wrapped per request like the server's on_parse
  }
  ~Context() {
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
  }
  struct soap* soap = nullptr;
  int (*http_parse)(struct soap*) = nullptr;
  std::size_t max_body = 0;
  unsigned max_depth = 0;
};

std::uint64_t mix(const std::uint8_t* data, std::size_t size) {  // FNV-1a, mixed: framing and cuts
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  h ^= h >> 33;  // MurmurHash3's fmix64: FNV's low bits alone are poorly mixed
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

// The HTTP request a client would send with `body`: Content-Length, or (one input in four)
// chunked, in up to four chunks cut where the hash says, size lines in upper or lower case.
std::string http_request(const std::uint8_t* data, std::size_t size, std::uint64_t h, bool& chunked) {
  std::string wire = "POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\n";
  chunked = (h & 3) == 0;
  if (!chunked) {
    wire += "Content-Length: " + std::to_string(size) + "\r\n\r\n";
    wire.append(reinterpret_cast<const char*>(data), size);
    return wire;
  }
  wire += "Transfer-Encoding: chunked\r\n\r\n";
  std::vector<std::size_t> cuts{0, size};
  for (int i = 0; i < 3 && size > 0; ++i) cuts.push_back(static_cast<std::size_t>((h >> (8 + 16 * i)) % size));
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  const char* digits = (h & 4) ? "0123456789abcdef" : "0123456789ABCDEF";
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
    std::size_t n = cuts[i + 1] - cuts[i];
    std::string hex;
    do {
      hex.insert(hex.begin(), digits[n & 15]);
      n >>= 4;
    } while (n);
    wire += hex + "\r\n";
    wire.append(reinterpret_cast<const char*>(data) + cuts[i], cuts[i + 1] - cuts[i]);
    wire += "\r\n";
  }
  wire += "0\r\n\r\n";
  return wire;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Context ctx;  // one context, reused per request like a pooled one
  struct soap* s = ctx.soap;
  if (size > ctx.max_body) return -1;  // the reader answers 413 before reading it (fuzz_http_reader)

  // 1. The event loop reads the request to its end.
  const std::uint64_t h = mix(data, size);
  bool chunked = false;
  const std::string wire = http_request(data, size, h, chunked);
  HttpRequestReader reader(kMaxRequestHeader, ctx.max_body);
  const std::size_t cut = static_cast<std::size_t>((h >> 5) % (wire.size() + 1));
  HttpRequestReader::State st = reader.feed(std::string_view(wire).substr(0, cut));
  if (st == HttpRequestReader::State::NeedMore) st = reader.feed(std::string_view(wire).substr(cut));
  if (trace())
    std::fprintf(stderr, "%s request of %zu bytes (cut at %zu): reader state %d\n", chunked ? "chunked" : "Content-Length",
                 wire.size(), cut, static_cast<int>(st));
  FUZZ_CHECK(st == HttpRequestReader::State::Complete, "the reader did not frame a well-formed request");
  FUZZ_CHECK(reader.request() == wire, "the reader's request is not the bytes sent");
  FUZZ_CHECK(reader.body() == std::string_view(reinterpret_cast<const char*>(data), size),
             "the reader's de-chunked body is not the body sent");

  // 2-3. A soap context is lent and parses it from memory (the server's serve_one).
  RequestGuard guard(ctx.max_body, ctx.max_depth);
  Input in;
  in.reader = &reader;
  in.guard = &guard;
  in.http_parse = ctx.http_parse;
  s->user = &in;
  s->frecv = memory_recv;
  s->fsend = sink_send;
  s->fparse = http_parse;
  s->fpreparerecv = observe_recv;
  s->socket = SOAP_INVALID_SOCKET;
  s->error = SOAP_OK;
  FuzzEndpoint endpoint(s);

  soap_begin(s);
  int err = soap_begin_recv(s) ? s->error : SOAP_OK;
  const bool xml_parsed = err == SOAP_OK;  // past soap_begin_recv, gSOAP's XML parser runs
  if (err == SOAP_OK)
    err = soap_envelope_begin_in(s) || soap_recv_header(s) || soap_body_begin_in(s) ? s->error : SOAP_OK;
  if (err == SOAP_OK) err = endpoint.dispatch();
  if (trace())
    std::fprintf(stderr, "gSOAP status %d, guard %s, XML %s, %zu body bytes received, operation %s\n", err,
                 RequestGuard::name(guard.violation()), xml_parsed ? "parsed" : "not parsed", in.received.size(),
                 in.operation ? "reached" : "not reached");
  FUZZ_CHECK(in.header_parsed, "gSOAP did not parse the fixed HTTP header");
  FUZZ_CHECK(guard.bytes() == size, "the guard did not judge the whole body");
  if (guard.violation() != RequestGuard::Violation::None) {
    FUZZ_CHECK(err == 400 && !xml_parsed, "gSOAP's XML parser ran on a body the guard refused");
    FUZZ_CHECK(!in.operation, "an operation ran on a body the guard refused");
  }
  FUZZ_CHECK(std::string_view(in.received) == reader.body().substr(0, in.received.size()),
             "gSOAP received bytes for its parser that are not the body the guard judged");
  if (err != SOAP_OK && err < SOAP_STOP) soap_send_fault(s);  // serialised into the sink
  s->user = nullptr;
  endpoint.destroy();
  soap_destroy(s);
  soap_end(s);
  return 0;
}
