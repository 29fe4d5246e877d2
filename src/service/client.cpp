#include "service/client.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "soapSekdsSoap11Proxy.h"  // generated at build time
#include "service/soap_convert.h"
#include "service/tls_init.h"

namespace sekds::service {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

const char* transport_error_kind_name(TransportError::Kind k) noexcept {
  switch (k) {
    case TransportError::Kind::ConnectionRefused: return "ConnectionRefused";
    case TransportError::Kind::Timeout: return "Timeout";
    case TransportError::Kind::Tls: return "Tls";
    case TransportError::Kind::ConnectionClosed: return "ConnectionClosed";
    case TransportError::Kind::Http: return "Http";
    case TransportError::Kind::Protocol: return "Protocol";
    case TransportError::Kind::Other: return "Other";
  }
  return "Other";
}

struct Client::Impl {
  explicit Impl(const ClientOptions& o)
      : opts(o), proxy(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT, SOAP_IO_KEEPALIVE) {
    struct soap* s = proxy.soap;
    if (!opts.keep_alive) {
      soap_clr_imode(s, SOAP_IO_KEEPALIVE);
      soap_clr_omode(s, SOAP_IO_KEEPALIVE);
    }
    if (opts.soap_version != 11 && opts.soap_version != 12) throw ClientError("soap_version: must be 11 or 12");
    if (opts.endpoint.rfind("https://", 0) != 0) throw ClientError("endpoint: must be an https:// URL");
    s->connect_timeout = opts.connect_timeout_s;
    s->recv_timeout = opts.recv_timeout_s;
    s->send_timeout = opts.send_timeout_s;
    s->socket_flags = MSG_NOSIGNAL;
    s->recv_maxlength = 4 * 1024 * 1024;
    s->maxlevel = 64;
    // Server authentication with the host name check, against the given CA only (no system
    // store: faster, and no other CA can impersonate the service).
    unsigned short flags = SOAP_SSL_DEFAULT | SOAP_SSL_NO_DEFAULT_CA_PATH | SOAP_TLSv1_2 | SOAP_TLSv1_3;
    if (soap_ssl_client_context(s, flags, nullptr, nullptr, opts.ca_file.c_str(), nullptr, nullptr) != SOAP_OK)
      throw ClientError("ca_file: " + opts.ca_file.string() + ": " + error_text());
    SSL_CTX* ctx = s->ctx;
    if (!ctx) throw ClientError("cannot create the TLS context: " + openssl_error());
    if (SSL_CTX_use_certificate_chain_file(ctx, opts.certificate.c_str()) != 1)
      throw ClientError("certificate: " + opts.certificate.string() + ": " + openssl_error());
    if (SSL_CTX_use_PrivateKey_file(ctx, opts.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw ClientError("private_key: " + opts.private_key.string() + ": " + openssl_error());
    if (SSL_CTX_check_private_key(ctx) != 1)
      throw ClientError("private_key: does not belong to the certificate: " + openssl_error());
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  }

  std::string error_text() {
    struct soap* s = proxy.soap;
    if (s->error != SOAP_OK && s->error != SOAP_FAULT) soap_set_fault(s);  // gSOAP's text for the error
    const char* t = soap_fault_string(s);
    const char* d = soap_fault_detail(s);
    std::string out = t ? t : "unknown error";
    if (d && *d) out += std::string(": ") + d;
    return one_line(out);
  }

  void prepare() {
    soapconv::use_soap_version(proxy.soap, opts.soap_version == 12 ? 2 : 1);
    started = std::chrono::steady_clock::now();
  }

  ~Impl() {
    // No TLS close_notify exchange: gSOAP would wait up to 5 s for the server's answer.
    soap_force_closesock(proxy.soap);
  }

  // Why the last call failed.
  std::variant<Fault, TransportError> failure() {
    struct soap* s = proxy.soap;
    int e = s->error;
    if (auto f = soapconv::fault_from_soap(s)) return *f;
    std::string text = error_text();
    using K = TransportError::Kind;
    if (e == SOAP_FAULT || e == SOAP_CLI_FAULT || e == SOAP_SVR_FAULT) {
      // A SOAP fault without our detail (not from sekds, or a proxy in between).
      const char* code = *soap_faultcode(s);
      bool sender = code && (std::strstr(code, "Client") || std::strstr(code, "Sender"));
      return Fault{sender ? FaultCode::InvalidArgument : FaultCode::Internal, text};
    }
    if (e >= 100 && e < 600) return TransportError{K::Http, text, e};
    // gSOAP says "interrupted or timed out" for both: the time spent tells them apart.
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    int limit = std::min(opts.recv_timeout_s, opts.send_timeout_s);
    if (e == SOAP_TCP_ERROR) {
      if (s->errnum == ECONNREFUSED) return TransportError{K::ConnectionRefused, text, 0};
      if (elapsed >= opts.connect_timeout_s) return TransportError{K::Timeout, text, 0};
      return TransportError{K::Other, text, 0};
    }
    if ((e == SOAP_EOF || e == SOAP_SSL_ERROR) && limit > 0 && elapsed >= limit)
      return TransportError{K::Timeout, text, 0};
    if (e == SOAP_SSL_ERROR) return TransportError{contains(text, "timeout") ? K::Timeout : K::Tls, text, 0};
    if (e == SOAP_EOF)
      return TransportError{K::ConnectionClosed,
                            text + " (the server closed the connection; with TLS 1.3 a refused client certificate "
                                   "shows this way)",
                            0};
    return TransportError{K::Protocol, text, 0};
  }

  template <class T>
  Result<T> fail() {
    auto f = failure();
    proxy.destroy();
    if (auto* fault = std::get_if<Fault>(&f)) return *fault;  // the connection stays usable
    soap_force_closesock(proxy.soap);  // start the next call on a fresh connection
    return std::get<TransportError>(f);
  }

  ClientOptions opts;
  SekdsSoap11Proxy proxy;
  std::chrono::steady_clock::time_point started;
};

Client::Client(const ClientOptions& options) {
  ssl_init();
  impl_ = std::make_unique<Impl>(options);
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

const ClientOptions& Client::options() const noexcept { return impl_->opts; }

void Client::disconnect(bool keep_tls_session) {
  // A graceful close: gSOAP keeps the TLS session, so the next call resumes it.
  struct soap* s = impl_->proxy.soap;
  s->keep_alive = 0;
  soap_closesock(s);
  if (!keep_tls_session && s->session) {
    SSL_SESSION_free(s->session);
    s->session = nullptr;
  }
}

Result<std::string> Client::ping(std::string_view message) {
  Impl& m = *impl_;
  m.prepare();
  _sekds__WSPing req;
  req.Message = std::string(message);
  _sekds__WSPingResponse resp;
  if (m.proxy.WSPing(m.opts.endpoint.c_str(), nullptr, &req, resp) != SOAP_OK) return m.fail<std::string>();
  std::string out = resp.Message;
  m.proxy.destroy();
  return out;
}

Result<GetKeysResponse> Client::get_diversified_keys(const GetKeysRequest& request) {
  if (auto f = validate(request)) return Fault{f->code, "request not sent: " + f->message};
  Impl& m = *impl_;
  m.prepare();
  _sekds__WSGetDiversifiedKeys req;
  soapconv::request_to_soap(m.proxy.soap, request, req);
  _sekds__WSGetDiversifiedKeysResponse resp;
  if (m.proxy.WSGetDiversifiedKeys(m.opts.endpoint.c_str(), nullptr, &req, resp) != SOAP_OK)
    return m.fail<GetKeysResponse>();
  auto converted = soapconv::response_from_soap(resp);
  m.proxy.destroy();
  if (auto* problem = std::get_if<std::string>(&converted))
    return TransportError{TransportError::Kind::Protocol, *problem, 0};
  return std::get<GetKeysResponse>(std::move(converted));
}

Result<std::vector<KekInfo>> Client::get_kek_info() {
  Impl& m = *impl_;
  m.prepare();
  _sekds__WSGetKekInfo req;
  _sekds__WSGetKekInfoResponse resp;
  if (m.proxy.WSGetKekInfo(m.opts.endpoint.c_str(), nullptr, &req, resp) != SOAP_OK)
    return m.fail<std::vector<KekInfo>>();
  auto converted = soapconv::kek_info_from_soap(resp);
  m.proxy.destroy();
  if (auto* problem = std::get_if<std::string>(&converted))
    return TransportError{TransportError::Kind::Protocol, *problem, 0};
  return std::get<std::vector<KekInfo>>(std::move(converted));
}

}  // namespace sekds::service
