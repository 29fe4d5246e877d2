// One request on one connection: gSOAP hooks (HTTP header checks, the body guard, GET
// endpoints, refused methods), the answer to every kind of failure, metrics and the access log.
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "service/logging.h"
#include "service/soap_convert.h"
#include "service/soap_endpoint.h"

namespace sekds::service::detail {
namespace {

using Clock = std::chrono::steady_clock;

Connection* conn_of(struct soap* s) { return static_cast<Connection*>(s->user); }

// `path` is `want`, optionally followed by a query string.
bool path_is(const char* path, const char* want) {
  if (path == nullptr) return false;
  std::size_t n = std::strlen(want);
  return std::strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A plain (non-SOAP) HTTP answer.
int send_plain(Connection& c, int status, const char* content_type, const std::string& body) {
  struct soap* s = c.soap;
  s->error = SOAP_OK;
  s->http_content = content_type;
  c.rec.http_status = status;
  int rc = soap_response(s, status == 200 ? SOAP_FILE : SOAP_FILE + status);
  if (rc == SOAP_OK) rc = soap_send_raw(s, body.data(), body.size());
  if (rc == SOAP_OK) rc = soap_end_send(s);
  s->http_content = nullptr;
  s->http_extra_header = nullptr;
  return rc;
}

// Like soap_send_fault(), but without closing: used for faults after which the connection
// stays usable (the request was read completely) and before a drain-then-close.
void write_fault(Connection& c) {
  struct soap* s = c.soap;
  s->error = SOAP_OK;
  s->header = nullptr;
  const char* code = *soap_faultcode(s);
  bool sender = code != nullptr && (std::strstr(code, "Client") || std::strstr(code, "Sender"));
  c.rec.http_status = (s->version == 2 && sender) ? 400 : 500;
  soap_serializeheader(s);
  soap_serializefault(s);
  if (soap_begin_count(s)) return;
  if (s->mode & SOAP_IO_LENGTH) {
    if (soap_envelope_begin_out(s) || soap_putheader(s) || soap_body_begin_out(s) || soap_putfault(s) ||
        soap_body_end_out(s) || soap_envelope_end_out(s))
      return;
  }
  if (soap_end_count(s) || soap_response(s, SOAP_FAULT) || soap_envelope_begin_out(s) || soap_putheader(s) ||
      soap_body_begin_out(s) || soap_putfault(s) || soap_body_end_out(s) || soap_envelope_end_out(s))
    return;
  soap_end_send(s);
}

void transport_fault(Connection& c, FaultCode code, const std::string& message) {
  soapconv::use_soap_version(c.soap, c.soap_version);
  c.soap->keep_alive = 0;
  soapconv::set_fault(c.soap, {code, message});
  c.rec.fault = fault_code_name(code);
  write_fault(c);
}

// After an answer sent before the request was read to its end: read (and drop) what the client
// is still sending for a moment, so that closing does not reset the connection under the answer.
void drain(Connection& c) {
  int fd = c.soap->socket;
  if (!soap_valid_socket(c.soap->socket)) return;
  auto deadline = Clock::now() + std::chrono::milliseconds(500);
  std::size_t total = 0;
  char buf[16384];
  while (total < (1u << 20)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 50))) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
}

std::string gsoap_error_text(struct soap* s) {
  soap_set_fault(s);
  const char* text = soap_fault_string(s);
  std::string m = text ? text : "malformed request";
  return soapconv::truncate_utf8(m, 200);
}

// ---- hooks ----

int on_parse(struct soap* s) {
  Connection* c = conn_of(s);
  int rc = c->ctx.gsoap_fparse(s);
  if (rc != SOAP_OK) return rc;
  // gSOAP reports PUT and PATCH as POST: judge by the request line seen on the wire.
  const std::string& method = c->reader.method();
  bool other_method = method != "POST" && method != "GET";
  if (other_method || (s->status != SOAP_POST && s->status != SOAP_GET)) {
    c->http_reject = 405;
    return 405;
  }
  if (s->status == SOAP_POST && !path_is(s->path, kServicePath)) {
    c->http_reject = 404;
    return 404;
  }
  // The whole body is in memory (HttpRequestReader, de-chunked): the guard judges all of it
  // before the XML parser sees a byte. respond_error() answers its violation.
  std::string_view body = c->reader.body();
  c->guard.expect_length(body.size());
  if (c->guard.feed(body) != RequestGuard::Violation::None) return 400;
  return SOAP_OK;
}

int on_parse_header(struct soap* s, const char* key, const char* val) {
  Connection* c = conn_of(s);
  // gSOAP only sees the header HttpRequestReader rebuilt: the body's own Content-Length, and no
  // Content-Encoding (refused there, 415) or Accept-Encoding (dropped: answers are never
  // compressed, no compression oracle next to key material).
  if (!strcasecmp(key, "Content-Type")) {
    c->soap_version = strncasecmp(val, "application/soap+xml", 20) == 0 ? 2 : 1;
  }
  return c->ctx.gsoap_fparsehdr(s, key, val);
}

// Answers do not advertise the server software ("Server: gSOAP/2.8").
int on_post_header(struct soap* s, const char* key, const char* val) {
  if (key != nullptr && !strcasecmp(key, "Server")) return SOAP_OK;
  return conn_of(s)->ctx.gsoap_fposthdr(s, key, val);
}

// gSOAP reads the request from memory: the server has read it to its end already
// (Connection::reader). 0 at its end: gSOAP never waits on the socket.
std::size_t on_recv(struct soap* s, char* buf, std::size_t len) {
  Connection* c = conn_of(s);
  std::string_view req = c->reader.gsoap_request();  // rebuilt: never the raw header (F4)
  std::size_t n = std::min(len, req.size() - std::min(c->read_pos, req.size()));
  std::memcpy(buf, req.data() + c->read_pos, n);
  c->read_pos += n;
  return n;
}

std::string health_json(Connection& c, bool& ok) {
  Health h = c.ctx.health();
  ok = h.ok;
  nlohmann::json j = {
      {"status", h.ok ? "ok" : "unavailable"},
      {"version", SEKDS_VERSION},
      {"uptime_seconds",
       std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - c.ctx.started).count()},
      {"open_connections", static_cast<long long>(c.ctx.metrics.open_connections.value())},
      {"stopping", c.ctx.stopping.load()},
  };
  if (!h.detail.empty()) j["detail"] = h.detail;
  return j.dump() + "\n";
}

// GET /healthz and /metrics show the state of the HSM and the store and every counter: only
// for accredited TSMs and [monitoring] certificates, and at most so often per client address.
// The rate limit comes first, so a flood costs no accreditation lookups in the store either.
// 0 when the request may be answered, otherwise the HTTP status it gets (and the answer sent).
int monitoring_refusal(Connection& c, int& rc) {
  ServerContext& ctx = c.ctx;
  if (!ctx.monitoring_limiter.allow(c.peer_key)) {
    double rate = ctx.config.monitoring.rate_per_peer;
    long wait = rate > 0 ? std::clamp(static_cast<long>(std::ceil(1.0 / rate)), 1L, 3600L) : 1L;
    std::string retry = fmt::format("Retry-After: {}", wait);
    c.soap->http_extra_header = retry.c_str();
    c.rec.fault = "rate_limited";
    rc = send_plain(c, 429, "text/plain; charset=utf-8", "too many requests from this address\n");
    return 429;
  }
  if (ctx.monitoring_fingerprints.count(c.identity.cert_sha256_hex)) return 0;
  std::optional<bool> accredited = ctx.accredited(c.identity);
  if (!accredited) {
    c.rec.fault = "accreditation_unknown";
    rc = send_plain(c, 503, "text/plain; charset=utf-8", "the accreditation of this certificate cannot be checked now\n");
    return 503;
  }
  if (*accredited) return 0;
  c.rec.fault = "forbidden";
  rc = send_plain(c, 403, "text/plain; charset=utf-8",
                  "forbidden: this certificate is neither an accredited TSM's nor a [monitoring] one\n");
  return 403;
}

int on_get(struct soap* s) {
  Connection* c = conn_of(s);
  if (c->ctx.stopping) s->keep_alive = 0;
  std::string path_label;
  int rc = SOAP_OK;
  if (path_is(s->path, "/healthz")) {
    path_label = "/healthz";
    if (!monitoring_refusal(*c, rc)) {
      bool ok = true;
      std::string body = health_json(*c, ok);
      rc = send_plain(*c, ok ? 200 : 503, "application/json", body);
    }
  } else if (path_is(s->path, "/metrics")) {
    path_label = "/metrics";
    if (!monitoring_refusal(*c, rc))
      rc = send_plain(*c, 200, "text/plain; version=0.0.4; charset=utf-8", c->ctx.metrics.registry.render());
  } else {
    path_label = "other";
    rc = send_plain(*c, 404, "text/plain; charset=utf-8", "not found\n");
  }
  c->rec.operation = "GET " + path_label;
  c->answered_get = true;
  c->ctx.metrics.http_requests.with({path_label, std::to_string(c->rec.http_status)}).inc();
  return rc;
}

int on_refused_method(struct soap* s) {
  conn_of(s)->http_reject = 405;
  return 405;
}

// ---- failures ----

void respond_error(Connection& c, int err) {
  struct soap* s = c.soap;
  c.rec.gsoap_error = err;
  s->keep_alive = 0;
  ServiceMetrics& m = c.ctx.metrics;
  if (err == SOAP_SSL_ERROR || err == SOAP_TCP_ERROR) {
    c.rec.fault = "connection_error";
    return;
  }
  RequestGuard::Violation v = c.guard.violation();
  if (v != RequestGuard::Violation::None) {
    m.rejected_requests.with({RequestGuard::name(v)}).inc();
    switch (v) {
      case RequestGuard::Violation::Oversize:
        c.rec.fault = "oversize";
        send_plain(c, 413, "text/plain; charset=utf-8",
                   fmt::format("request body larger than {} bytes\n", c.ctx.config.max_message_size));
        break;
      case RequestGuard::Violation::Dtd:
        transport_fault(c, FaultCode::InvalidArgument, "document type declarations (DTD) are not allowed in SOAP");
        break;
      case RequestGuard::Violation::UndeclaredEntity:
        transport_fault(c, FaultCode::InvalidArgument,
                        "undeclared XML entity reference (only the predefined entities and character references)");
        break;
      case RequestGuard::Violation::TooDeep:
        transport_fault(c, FaultCode::InvalidArgument,
                        fmt::format("XML nesting deeper than {} levels", c.ctx.config.max_xml_depth));
        break;
      case RequestGuard::Violation::Truncated:
        transport_fault(c, FaultCode::InvalidArgument, "malformed XML: the body ends before the document does");
        break;
      case RequestGuard::Violation::None:
        break;
    }
    drain(c);
    return;
  }
  int http = c.http_reject;
  if (!http && err >= SOAP_GET_METHOD && err <= SOAP_HTTP_METHOD) http = 405;
  if (!http && err >= 400 && err < 600) http = err;
  if (http) {
    const char* reason = http == 404 ? "not_found" : http == 405 ? "method_not_allowed" : http == 413 ? "oversize"
                         : http == 415 ? "content_encoding" : "http_error";
    m.rejected_requests.with({reason}).inc();
    c.rec.fault = reason;
    if (http == 405) s->http_extra_header = "Allow: GET, POST";
    std::string body = http == 413 ? fmt::format("request body larger than {} bytes\n", c.ctx.config.max_message_size)
                                   : fmt::format("{}\n", reason_phrase(http));
    send_plain(c, http, "text/plain; charset=utf-8", body);
    drain(c);
    return;
  }
  if (err == SOAP_EOF) {
    // The request was complete in memory: its document ended early (or the body was empty).
    m.rejected_requests.with({"malformed"}).inc();
    transport_fault(c, FaultCode::InvalidArgument, "malformed XML: the document ends before its last end tag");
    drain(c);
    return;
  }
  // gSOAP's XML, schema and SOAP errors (malformed XML, a value breaking the WSDL, an unknown
  // operation, a wrong envelope): the request's fault, with gSOAP's description.
  bool sender = soap_xml_error_check(err) || soap_soap_error_check(err) || err == SOAP_NO_METHOD ||
                err == SOAP_NAMESPACE || err == SOAP_UTF_ERROR || err == SOAP_LEVEL || err == SOAP_OCCURS ||
                err == SOAP_LENGTH || err == SOAP_TYPE || err == SOAP_EOM;
  std::string text = gsoap_error_text(s);
  m.rejected_requests.with({sender ? "malformed" : "internal"}).inc();
  transport_fault(c, sender ? FaultCode::InvalidArgument : FaultCode::Internal, text);
  drain(c);
}

void finish(Connection& c, Clock::time_point t0) {
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const RequestRecord& r = c.rec;
  bool soap_op = r.operation.rfind("GET ", 0) != 0;
  if (soap_op && r.fault != "disconnected" && r.fault != "connection_error") {
    std::string op = r.operation == "-" ? "unknown" : r.operation;
    // Only SOAP answers count as requests; plain HTTP refusals are in rejected_requests.
    if (r.http_status == 200 || r.http_status == 400 || r.http_status == 500) {
      c.ctx.metrics.requests.with({op, r.fault}).inc();
      c.ctx.metrics.request_seconds.with({op}).observe(seconds);
    }
  }
  if (!log_enabled(spdlog::level::info)) return;
  nlohmann::ordered_json j = {
      {"event", "request"},
      {"peer", c.peer},
      {"tsm_fp", c.identity.cert_sha256_hex},
      {"tsm_subject", c.identity.subject},
      {"op", r.operation},
      {"fault", r.fault},
      {"status", r.http_status},
      {"latency_ms", std::round(seconds * 1e6) / 1e3},
  };
  if (soap_op) j["soap"] = c.soap_version == 2 ? "1.2" : "1.1";
  if (!r.audit_id.empty()) j["audit_id"] = r.audit_id;
  if (!r.request_id.empty()) j["request_id"] = r.request_id;
  if (r.gsoap_error) j["gsoap_error"] = r.gsoap_error;
  log_json(spdlog::level::info, std::move(j));
}

}  // namespace

void install_hooks(ServerContext& ctx, struct soap* listener) {
  ctx.gsoap_fparse = listener->fparse;
  ctx.gsoap_fparsehdr = listener->fparsehdr;
  ctx.gsoap_fposthdr = listener->fposthdr;
  listener->fposthdr = on_post_header;
  listener->fparse = on_parse;
  listener->fparsehdr = on_parse_header;
  listener->frecv = on_recv;
  listener->fget = on_get;
  listener->fput = on_refused_method;
  listener->fpatch = on_refused_method;
  listener->fdel = on_refused_method;
  listener->fopt = on_refused_method;
  listener->fhead = on_refused_method;
}

Health ServerContext::health() {
  const auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / config.monitoring.health_probe_rate));
  std::unique_lock lock(health_mu);
  for (;;) {
    auto now = Clock::now();
    if (last_health && now - last_probe < interval) {
      metrics.health_cached.inc();
      return *last_health;
    }
    if (!probing) break;
    // One check at a time: the others answer from the last result, or wait for the first one.
    if (last_health) {
      metrics.health_cached.inc();
      return *last_health;
    }
    health_cv.wait(lock);
  }
  probing = true;
  last_probe = Clock::now();  // probe starts are at least an interval apart
  std::uint64_t generation = health_generation;
  std::function<Health()> check = health_check;
  lock.unlock();
  Health h;
  try {
    if (check) h = check();
  } catch (...) {  // never leave `probing` set: every later /healthz would wait for it
    h = Health{false, "health check failed"};
  }
  metrics.health_probes.inc();
  lock.lock();
  probing = false;
  if (generation == health_generation) last_health = h;
  lock.unlock();
  health_cv.notify_all();
  return h;
}

void ServerContext::set_health(std::function<Health()> f) {
  {
    std::lock_guard lock(health_mu);
    health_check = std::move(f);
    last_health.reset();
    ++health_generation;
  }
  health_cv.notify_all();
}

std::optional<bool> ServerContext::accredited(const CallerIdentity& who) const {
  std::function<bool(const CallerIdentity&)> check;
  {
    std::lock_guard lock(accredited_mu);
    check = accredited_check;
  }
  if (!check) return false;
  try {
    return check(who);
  } catch (...) {
    return std::nullopt;
  }
}

void ServerContext::set_accredited(std::function<bool(const CallerIdentity&)> f) {
  std::lock_guard lock(accredited_mu);
  accredited_check = std::move(f);
}

After serve_one(Connection& c) {
  struct soap* s = c.soap;
  auto t0 = Clock::now();
  c.guard.reset();
  c.read_pos = 0;
  c.http_reject = 0;
  c.soap_version = 1;
  c.rec = RequestRecord{};
  c.rec.operation = "-";
  c.answered_get = false;
  s->error = SOAP_OK;

  // soap_begin_serve() without its soap_send_fault(): every failure is answered below, once.
  soap_begin(s);
  int err = soap_begin_recv(s) || soap_envelope_begin_in(s) || soap_recv_header(s) || soap_body_begin_in(s)
                ? s->error
                : SOAP_OK;
  if (err >= SOAP_STOP && !c.answered_get) {
    // gSOAP stops quietly on bodies it does not take for XML (it assumes an HTML form): refuse.
    err = SOAP_SYNTAX_ERROR;
    s->error = err;
  }
  if (err >= SOAP_STOP) soap_closesock(s);  // a GET was answered: closes only without keep-alive
  if (err == SOAP_OK) {
    c.soap_version = s->version == 2 ? 2 : 1;
    if (c.ctx.stopping) s->keep_alive = 0;  // the answer says Connection: close
    err = c.endpoint->dispatch();
    if (err != SOAP_OK && err < SOAP_STOP) {
      if (c.rec.domain_fault && s->error == SOAP_FAULT) {
        write_fault(c);  // the request was read completely: the connection stays usable
      } else {
        respond_error(c, err);
      }
    }
  } else if (err < SOAP_STOP) {
    respond_error(c, err);
  }
  // else: a GET answered by on_get.
  finish(c, t0);
  // respond_error() clears keep_alive; a GET leaves s->error at SOAP_STOP, which is fine.
  bool keep = soap_valid_socket(s->socket) && s->keep_alive != 0 && !c.ctx.stopping;
  soap_destroy(s);
  soap_end(s);
  c.last_active = Clock::now();
  return keep ? After::Park : After::Close;
}

After refuse_unread(Connection& c, Unread why) {
  struct soap* s = c.soap;
  auto t0 = Clock::now();
  c.rec = RequestRecord{};
  c.rec.operation = "-";
  s->error = SOAP_OK;
  s->keep_alive = 0;  // the rest of what the client sends cannot be framed: close after this
  soap_begin(s);
  const char* reason = "http_error";
  int status = 400;
  std::string body;
  switch (why) {
    case Unread::Timeout:
      status = 408, reason = "timeout", body = "request not received in time\n";
      break;
    case Unread::BodyTooLarge:
      status = 413, reason = "oversize";
      body = fmt::format("request body larger than {} bytes\n", c.ctx.config.max_message_size);
      break;
    case Unread::HeaderTooLarge:
      status = 431, reason = "header_too_large", body = c.reader.error() + "\n";
      break;
    case Unread::Malformed:
      status = 400, reason = "bad_request", body = "bad request: " + c.reader.error() + "\n";
      break;
    case Unread::Unsupported:
      status = 415, reason = "content_encoding", body = c.reader.error() + "\n";
      break;
  }
  c.ctx.metrics.rejected_requests.with({reason}).inc();
  c.rec.fault = reason;
  send_plain(c, status, "text/plain; charset=utf-8", body);
  if (why != Unread::Timeout) drain(c);  // a slow client gets no more of a worker's time
  finish(c, t0);
  soap_destroy(s);
  soap_end(s);
  return After::Close;
}

}  // namespace sekds::service::detail
