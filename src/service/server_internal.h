// Internals shared by server.cpp (threads, connections), request.cpp (one request) and
// soap_endpoint.cpp (the operations). Not for use outside src/service.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "stdsoap2.h"
#include "service/config.h"
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

struct Connection {
  explicit Connection(ServerContext& c, struct soap* s);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  ServerContext& ctx;
  struct soap* soap;  // this connection's copy of the listener's context
  std::unique_ptr<SoapEndpoint> endpoint;
  CallerIdentity identity;
  std::string peer;  // "ip:port"
  bool handshake_done = false;
  bool want_write = false;  // the TLS handshake waits for the socket to be writable
  bool armed = false;       // registered in the epoll set
  std::chrono::steady_clock::time_point last_active = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point handshake_deadline;

  // Per request.
  RequestGuard guard;
  bool in_body = false;         // HTTP header parsed: bytes fed to the guard
  std::size_t raw_bytes = 0;    // anything received for this request
  std::chrono::steady_clock::time_point started, last_rx;  // request start, last bytes received
  int http_reject = 0;          // HTTP status decided while parsing the header (404, 413, 415)
  bool answered_get = false;    // on_get() answered this request
  std::string method;           // from the request line, when it arrived in a read of its own
  short soap_version = 1;       // 1 or 2: how to answer
  RequestRecord rec;
};

// Installs the hooks (HTTP header checks, body guard, GET handler, other methods refused) on
// the listener's context; copies inherit them.
void install_hooks(ServerContext& ctx, struct soap* listener);

enum class After { Park, Close };
// Serves one request on a connection whose input is readable.
After serve_one(Connection& c);

}  // namespace sekds::service::detail
