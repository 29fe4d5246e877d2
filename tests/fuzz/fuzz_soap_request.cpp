// fuzz_soap_request: the request path of sekds-server without the network. The input is a
// request body (or anything a client may send as one); it goes through what the server does
// with a body, in the same order and with the same limits:
//   the RequestGuard on the raw bytes as gSOAP receives them (size, DTD, entities, depth,
//   truncation; Content-Length = the input size), a gSOAP context with the listener's
//   settings (SOAP_XML_STRICT, keep-alive, maxlevel = max_xml_depth, maxoccurs 1024,
//   recv_maxlength), soap_begin_recv / envelope / header / body, the generated dispatcher,
//   soapconv::request_from_soap (WSDL limits), then the card request checks of
//   service/request_validation.h (parse_card_request, check_card_against_key_set,
//   request_digest), and the answer serialised (response or fault) into a sink.
// Invariants: nothing but a status comes out (no exception, no sanitizer report); an operation
// is reached only when the guard passed the bytes; converted requests satisfy validate();
// a card request agrees with the request it came from; a WSPing message the server would
// echo has no control characters.
//
// The server's own hooks (HTTP header checks, GET, timeouts) are internal to src/service
// (request.cpp); see README.md for the seam that would let this target run them too.
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
#include "known_bugs.h"
#include "service/config.h"
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
using service::RequestGuard;

struct Input {
  std::string wire;  // the HTTP request: a fixed header, then the fuzzer's bytes as the body
  std::size_t pos = 0;
  std::size_t first_read = 0;  // size of the first read (then as much as gSOAP asks for)
  RequestGuard* guard = nullptr;
  bool in_body = false;  // set once gSOAP has parsed the HTTP header, as in the server
  int (*http_parse)(struct soap*) = nullptr;
};

// SEKDS_FUZZ_TRACE=1: what happened to each input, on stderr.
bool trace() {
  static const bool on = std::getenv("SEKDS_FUZZ_TRACE") != nullptr;
  return on;
}

Input& input_of(struct soap* s) { return *static_cast<Input*>(s->user); }

std::size_t memory_recv(struct soap* s, char* buf, std::size_t len) {
  Input& in = input_of(s);
  // The body arrives in two pieces (as TLS records would), cut at a place that depends on its
  // size: the guard and gSOAP's parser see requests split anywhere.
  std::size_t n = std::min(len, in.wire.size() - in.pos);
  if (in.pos == 0) n = std::min(n, in.first_read);
  std::memcpy(buf, in.wire.data() + in.pos, n);
  in.pos += n;
  return n;
}

// The server's on_parse: once gSOAP has read the HTTP header, the bytes it receives are the body.
int http_parse(struct soap* s) {
  Input& in = input_of(s);
  int rc = in.http_parse(s);
  if (rc != SOAP_OK) return rc;
  if (s->length > 0 && (s->mode & SOAP_IO) != SOAP_IO_CHUNK) in.guard->expect_length(static_cast<std::size_t>(s->length));
  in.in_body = true;
  return SOAP_OK;
}

int sink_send(struct soap*, const char*, std::size_t) { return SOAP_OK; }

// What the server's on_prepare_recv does once the HTTP header is parsed. The server answers a
// violation with SOAP_EOM, which gSOAP also uses inside soap_peek_element to mean "attribute
// value longer than the buffer: grow it and read on" -- finding F2 (README.md): a violation
// seen while gSOAP is in an attribute value makes it allocate without end. Until request.cpp
// returns another code, the target returns SOAP_LENGTH (what recv_maxlength gives at the same
// place) unless SEKDS_FUZZ_KNOWN_BUGS=1.
int guard_recv(struct soap* s, const char* buf, std::size_t len) {
  Input& in = input_of(s);
  const bool ok = !in.in_body || in.guard->feed(std::string_view(buf, len)) == RequestGuard::Violation::None;
  if (trace())
    std::fprintf(stderr, "recv %zu bytes%s, guard %s\n", len, in.in_body ? "" : " (header)", RequestGuard::name(in.guard->violation()));
  if (ok) return SOAP_OK;
  return fuzz::avoid_known_bugs() ? SOAP_LENGTH : SOAP_EOM;
}

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
    if (!fuzz::is_f3_guard_violation(in.guard->violation() == RequestGuard::Violation::Truncated))
      FUZZ_CHECK(in.guard->violation() == RequestGuard::Violation::None, "an operation ran on a body the guard refused");
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Context ctx;  // one context, reused per request like a connection's
  struct soap* s = ctx.soap;
  RequestGuard guard(ctx.max_body, ctx.max_depth);
  Input in;
  in.wire = "POST /sekds/v1 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: " +
            std::to_string(size) + "\r\n\r\n";
  const std::size_t header = in.wire.size();
  in.wire.append(reinterpret_cast<const char*>(data), size);
  in.first_read = header + static_cast<std::size_t>((std::uint64_t{size} * 2654435761u >> 7) % (size + 1));
  in.guard = &guard;
  in.http_parse = ctx.http_parse;
  s->user = &in;
  s->frecv = memory_recv;
  s->fsend = sink_send;
  s->fpreparerecv = guard_recv;
  s->fparse = http_parse;
  s->socket = SOAP_INVALID_SOCKET;
  s->error = SOAP_OK;
  FuzzEndpoint endpoint(s);

  soap_begin(s);
  int err = soap_begin_recv(s) || soap_envelope_begin_in(s) || soap_recv_header(s) || soap_body_begin_in(s) ? s->error
                                                                                                              : SOAP_OK;
  if (err == SOAP_OK) err = endpoint.dispatch();
  if (trace()) std::fprintf(stderr, "gSOAP status %d, guard %s\n", err, RequestGuard::name(guard.violation()));
  if (err != SOAP_OK && err < SOAP_STOP) soap_send_fault(s);  // serialised into the sink
  FUZZ_CHECK(guard.bytes() <= size, "the guard counted more bytes than were sent");
  s->user = nullptr;
  endpoint.destroy();
  soap_destroy(s);
  soap_end(s);
  return 0;
}
