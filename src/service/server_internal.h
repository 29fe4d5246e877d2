// Internals shared by server.cpp (threads, connections), request.cpp (one request) and
// soap_endpoint.cpp (the operations). Not for use outside src/service.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include <sys/socket.h>

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

// What every connection's requests need; read-only after start() except the atomics and
// what the mutexes guard.
struct ServerContext {
  using Clock = std::chrono::steady_clock;
  ServerContext(const ServerConfig& c, KeyService& k, ServiceMetrics& m)
      : config(c), keys(k), metrics(m), limiter(c.rate_per_tsm, c.rate_burst),
        monitoring_limiter(c.monitoring.rate_per_peer, c.monitoring.burst_per_peer),
        monitoring_fingerprints(c.monitoring.fingerprints.begin(), c.monitoring.fingerprints.end()) {}
  const ServerConfig& config;
  KeyService& keys;
  ServiceMetrics& metrics;
  RateLimiter limiter;
  RateLimiter monitoring_limiter;  // GET /healthz and /metrics, per client address
  const std::unordered_set<std::string> monitoring_fingerprints;

  // GET /healthz: the last health check's result while it is younger than
  // 1 / health_probe_rate, so a flood of /healthz cannot drive HSM and store work; one check
  // at a time, the others answer from the last result meanwhile. Any thread.
  Health health();
  // Replaces the check (and forgets the last result: it came from another check).
  void set_health(std::function<Health()> f);

  // May `who` read /healthz and /metrics as an accredited TSM? nullopt when that cannot be
  // decided now (the check threw: the store is down, say).
  std::optional<bool> accredited(const CallerIdentity& who) const;
  void set_accredited(std::function<bool(const CallerIdentity&)> f);

  std::atomic<bool> stopping{false};
  Clock::time_point started = Clock::now();
  // gSOAP's own HTTP parsers, wrapped by ours.
  int (*gsoap_fparse)(struct soap*) = nullptr;
  int (*gsoap_fparsehdr)(struct soap*, const char*, const char*) = nullptr;
  int (*gsoap_fposthdr)(struct soap*, const char*, const char*) = nullptr;

 private:
  mutable std::mutex health_mu;
  std::condition_variable health_cv;
  std::function<Health()> health_check;
  std::optional<Health> last_health;
  Clock::time_point last_probe{};
  bool probing = false;
  std::uint64_t health_generation = 0;  // bumped by set_health: a probe of the old check is dropped
  mutable std::mutex accredited_mu;
  std::function<bool(const CallerIdentity&)> accredited_check;
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

// Transport helpers of the server (connection.cpp).
std::string openssl_error();               // the oldest queued OpenSSL error, queue cleared
std::string soap_error_text(struct soap* s);  // gSOAP's fault string and detail, on one line
// Replaces gSOAP's tcp_disconnect(): that one waits up to 5 s for the peer's TLS close_notify
// (a keep-alive client that is not reading never answers), which would pin a worker on every
// close. Here: send close_notify once, close.
void close_transport(SSL*& ssl, int& fd);
int quick_disconnect(struct soap* s);  // close_transport as gSOAP's fclose
// The client address per-peer limits count on: the IPv4 address (also when it arrives
// IPv4-mapped on an IPv6 socket), or the /64 of an IPv6 address, since one host commonly holds
// a whole /64 and per-address counting would not bound it.
std::string peer_key_of(const sockaddr_storage& ss);

// At most one line per second per kind for events a peer can provoke at will (refused
// connections, failed handshakes), so a scan cannot flood the log; the count says how many
// were not logged.
class LogThrottle {
  using Clock = std::chrono::steady_clock;

 public:
  // Returns true (and the number suppressed since the last line) when a line may be written.
  bool allow(long& suppressed) {
    auto now = Clock::now().time_since_epoch().count();
    auto last = last_.load(std::memory_order_relaxed);
    if (now - last < std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)).count() ||
        !last_.compare_exchange_strong(last, now)) {
      ++suppressed_;
      return false;
    }
    suppressed = suppressed_.exchange(0);
    return true;
  }

 private:
  std::atomic<Clock::rep> last_{0};
  std::atomic<long> suppressed_{0};
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
  std::string peer_key;  // the client address its per-peer limits count on (IPv4, or IPv6 /64)
  bool handshake_counted = false;  // counts in its peer's handshakes in progress
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
