// The pieces of the server's transport below Server::Impl: error texts, closing a connection
// without waiting for the peer, the per-peer address key, the pooled soap contexts and the
// connection objects (server_internal.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>

#include <openssl/err.h>

#include "service/server_internal.h"
#include "service/soap_endpoint.h"

namespace sekds::service::detail {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string soap_error_text(struct soap* s) {
  const char* t = soap_fault_string(s);
  const char* d = soap_fault_detail(s);
  std::string out = t ? t : "unknown error";
  if (d && *d) out += std::string(": ") + d;
  for (char& ch : out)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return out;
}

void close_transport(SSL*& ssl, int& fd) {
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ssl = nullptr;
    ERR_clear_error();
  }
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

int quick_disconnect(struct soap* s) {
  int fd = soap_valid_socket(s->socket) ? s->socket : -1;
  close_transport(s->ssl, fd);
  s->socket = SOAP_INVALID_SOCKET;
  return SOAP_OK;
}

std::string peer_key_of(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) return buf;
  } else if (ss.ss_family == AF_INET6) {
    in6_addr a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      in_addr v4{};
      std::memcpy(&v4, &a.s6_addr[12], sizeof v4);
      if (::inet_ntop(AF_INET, &v4, buf, sizeof buf)) return buf;
    } else {
      std::memset(&a.s6_addr[8], 0, 8);
      if (::inet_ntop(AF_INET6, &a, buf, sizeof buf)) return std::string(buf) + "/64";
    }
  }
  return "unknown";  // all odd addresses share one count
}

SoapSlot::~SoapSlot() {
  endpoint.reset();
  if (!soap) return;
  soap_destroy(soap);
  soap_end(soap);
  quick_disconnect(soap);
  soap->master = SOAP_INVALID_SOCKET;  // the listener's: soap_done() must not close it
  soap_free(soap);  // a copy: the shared SSL_CTX stays with the listener's context
}

SoapPool::~SoapPool() {
  all_.clear();
  if (prototype_) {
    prototype_->master = SOAP_INVALID_SOCKET;
    soap_free(prototype_);
  }
}

SoapSlot* SoapPool::take() {
  std::lock_guard lock(mu_);
  if (!free_.empty()) {
    SoapSlot* s = free_.back();
    free_.pop_back();
    return s;
  }
  auto slot = std::make_unique<SoapSlot>();
  slot->soap = soap_copy(prototype_);
  if (!slot->soap) throw std::bad_alloc();
  slot->endpoint = std::make_unique<SoapEndpoint>(slot->soap);
  all_.push_back(std::move(slot));
  return all_.back().get();
}

void SoapPool::give(SoapSlot* slot) noexcept {
  std::lock_guard lock(mu_);
  free_.push_back(slot);
}

std::size_t SoapPool::size() const {
  std::lock_guard lock(mu_);
  return all_.size();
}

Connection::Connection(ServerContext& c, SoapPool& p, int socket_fd, SSL* tls, short ka)
    : ctx(c), pool(p), fd(socket_fd), ssl(tls), keep_alive(ka),
      reader(kMaxRequestHeader, c.config.max_message_size),
      guard(c.config.max_message_size, c.config.max_xml_depth) {}

Connection::~Connection() {
  if (attached()) {
    soap_destroy(soap);
    soap_end(soap);
    quick_disconnect(soap);  // closes what the connection lent to the context
    soap->user = nullptr;
    soap->imode &= ~SOAP_ENC_SSL;
    soap->omode &= ~SOAP_ENC_SSL;
    pool.give(slot);
  }
  close_transport(ssl, fd);
}

void Connection::attach() {
  slot = pool.take();
  soap = slot->soap;
  endpoint = slot->endpoint.get();
  soap->user = this;
  soap->socket = fd;
  soap->ssl = ssl;
  soap->keep_alive = keep_alive;
  soap->bufidx = soap->buflen = 0;  // nothing of another connection's input
  soap->imode |= SOAP_ENC_SSL;      // gSOAP reads and writes through soap->ssl
  soap->omode |= SOAP_ENC_SSL;
  fd = -1;
  ssl = nullptr;
}

void Connection::detach() noexcept {
  fd = soap_valid_socket(soap->socket) ? soap->socket : -1;  // gSOAP may have closed it
  ssl = soap->ssl;
  keep_alive = static_cast<short>(soap->keep_alive);
  soap->socket = SOAP_INVALID_SOCKET;
  soap->ssl = nullptr;
  soap->user = nullptr;
  soap->imode &= ~SOAP_ENC_SSL;
  soap->omode &= ~SOAP_ENC_SSL;
  pool.give(slot);
  slot = nullptr;
  soap = nullptr;
  endpoint = nullptr;
}

}  // namespace sekds::service::detail
