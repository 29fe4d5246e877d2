// Internals shared by server.cpp (threads, connections), request.cpp (one request) and
// soap_endpoint.cpp (the operations). Not for use outside src/service.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "stdsoap2.h"
#include "service/config.h"
#include "service/http_request_reader.h"
#include "service/key_service.h"
#include "service/rate_limiter.h"
#include "service/request_guard.h"
#include "service/server.h"
#include "service/service_metrics.h"

namespace sekds::service::detail {

inline constexpr const char* kServicePath = "/sekds/v1";

// What every connection's requests need; read-only after start() except the atomics.
struct ServerContext {
  ServerContext(const ServerConfig& c, KeyService& k, ServiceMetrics& m)
      : config(c), keys(k), metrics(m), limiter(c.rate_per_tsm, c.rate_burst) {}
  const ServerConfig& config;
  KeyService& keys;
  ServiceMetrics& metrics;
  RateLimiter limiter;
  // GET /healthz; may be replaced while serving.
  Health health() const {
    std::function<Health()> f;
    {
      std::lock_guard lock(health_mu);
      f = health_check;
    }
    return f ? f() : Health{};
  }
  void set_health(std::function<Health()> f) {
    std::lock_guard lock(health_mu);
    health_check = std::move(f);
  }
  std::atomic<bool> stopping{false};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  mutable std::mutex health_mu;
  std::function<Health()> health_check;
  // gSOAP's own HTTP parsers, wrapped by ours.
  int (*gsoap_fparse)(struct soap*) = nullptr;
  int (*gsoap_fparsehdr)(struct soap*, const char*, const char*) = nullptr;
  int (*gsoap_fposthdr)(struct soap*, const char*, const char*) = nullptr;
};

// What one request did, for the access log and the metrics.
struct RequestRecord {
  std::string operation;             // WSPing, ..., "GET /metrics", or "-" before one is known
  std::string fault = "none";        // FaultCode name, a transport reason, or "none"
  std::string audit_id;
  std::string request_id;
  int http_status = 200;
  int gsoap_error = 0;        // gSOAP's error code when the request failed below the operations
  bool domain_fault = false;  // a Fault from the KeyService / validation: answer and keep alive
};

class SoapEndpoint;  // soap_endpoint.h

// A soap context (a soap_copy of the listener's, ~165 KB) and its endpoint, lent to a
// connection only while one of its requests is served: a context per open keep-alive
// connection would cost 165 MB of RAM at 1,000 idle connections. Between requests a
// connection keeps its socket, its SSL object and gSOAP's keep-alive state (Connection).
struct SoapSlot {
  SoapSlot() = default;
  ~SoapSlot();
  SoapSlot(const SoapSlot&) = delete;
  SoapSlot& operator=(const SoapSlot&) = delete;
  struct soap* soap = nullptr;
  std::unique_ptr<SoapEndpoint> endpoint;
};

class SoapPool {
 public:
  // `prototype` is a private copy of the listener's context, made before any accept(): new
  // slots are copied from it, never from the listener that the event thread is using.
  explicit SoapPool(struct soap* prototype) : prototype_(prototype) {}
  ~SoapPool();
  SoapPool(const SoapPool&) = delete;
  SoapPool& operator=(const SoapPool&) = delete;
  SoapSlot* take();  // throws std::bad_alloc
  void give(SoapSlot* slot) noexcept;
  std::size_t size() const;  // slots made so far

 private:
  mutable std::mutex mu_;
  struct soap* prototype_;
  std::vector<std::unique_ptr<SoapSlot>> all_;
  std::vector<SoapSlot*> free_;
};

struct Connection {
  // `fd` is the accepted socket, `ssl` its (not yet handshaken) SSL object; both owned from here.
  Connection(ServerContext& c, SoapPool& pool, int fd, SSL* ssl, short keep_alive);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Borrows a soap context for serving: the socket, SSL object and keep-alive state move into
  // it (soap, endpoint set). detach() moves them back and returns the context to the pool;
  // it must only be called when gSOAP has no buffered input left (soap->bufidx == buflen).
  void attach();
  void detach() noexcept;
  bool attached() const noexcept { return soap != nullptr; }

  ServerContext& ctx;
  SoapPool& pool;
  int fd;              // while detached; -1 once closed
  SSL* ssl;            // while detached; nullptr once closed
  short keep_alive;    // gSOAP's soap->keep_alive between requests
  SoapSlot* slot = nullptr;
  struct soap* soap = nullptr;          // while attached: slot->soap
  SoapEndpoint* endpoint = nullptr;     // while attached: slot->endpoint
  CallerIdentity identity;
  std::string peer;  // "ip:port"
  bool handshake_done = false;
  bool want_write = false;  // the TLS handshake waits for the socket to be writable
  bool armed = false;       // registered in the epoll set
  std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point handshake_deadline;

  // Per request. The request is read to its end (reader) before a soap context is lent;
  // gSOAP then parses it from memory (read_pos: how far it got).
  HttpRequestReader reader;
  std::size_t read_pos = 0;
  bool continue_sent = false;   // "100 Continue" written for this request
  RequestGuard guard;
  std::chrono::steady_clock::time_point started, last_rx;  // first and last bytes received
  int http_reject = 0;          // HTTP status decided while parsing the header (404, 405, 415)
  bool answered_get = false;    // on_get() answered this request
  short soap_version = 1;       // 1 or 2: how to answer
  RequestRecord rec;
};

// Installs the hooks (HTTP header checks, body guard, GET handler, other methods refused) on
// the listener's context; copies inherit them.
void install_hooks(ServerContext& ctx, struct soap* listener);

enum class After { Park, Close };
// Serves the complete request in c.reader (attached connection).
After serve_one(Connection& c);
// Answers a request that will not be read to its end, and closes (attached connection).
enum class Unread { Timeout, BodyTooLarge, HeaderTooLarge, Malformed, Unsupported };
After refuse_unread(Connection& c, Unread why);

// Largest request header accepted (gSOAP's own line limit is 8 KB).
inline constexpr std::size_t kMaxRequestHeader = 16384;

}  // namespace sekds::service::detail
