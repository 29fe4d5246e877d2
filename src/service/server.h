// sekds-server's transport: a mutual-TLS gSOAP server (no gSOAP types in this header).
//
// Threads: one event thread accepts connections and watches every waiting connection in an
// epoll set; a fixed pool of workers does the work. The TLS handshake is driven step by step
// (non-blocking SSL_accept in a worker whenever epoll says the socket is ready), so a slow or
// silent client holds no thread during it. A worker takes an established connection only when
// a request is readable, serves exactly ONE request, and parks the connection again, so a few
// keep-alive clients cannot pin the pool (TOOLCHAIN gotcha 5). Each connection has its own
// soap context (copied from the listener's), sharing the SSL_CTX.
//
// Besides the SOAP operations at /sekds/v1, the same listener answers GET /healthz and
// GET /metrics (also behind mutual TLS) to accredited TSMs and [monitoring] certificates only
// (403 otherwise), rate-limited per client address (429); any other path is 404.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "service/config.h"
#include "service/key_service.h"
#include "service/service_metrics.h"
#include "service/tls_init.h"

namespace sekds::service {

// Start-up failure (TLS material, bind): one line naming the configuration key.
class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Health {
  bool ok = true;
  std::string detail;  // short, no secrets (shown on /healthz)
};

class Server {
 public:
  Server(const ServerConfig& config, KeyService& keys, ServiceMetrics& metrics);
  ~Server();  // stops and waits if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Called (from the thread that calls wait()) after the last connection closed, before wait()
  // returns: the key-release step flushes its audit here.
  void set_on_shutdown(std::function<void()> hook);
  // Consulted by GET /healthz (200 when ok, 503 otherwise), at most [monitoring]
  // health_probe_rate times per second (other calls get its last result). Default: always ok.
  void set_health_check(std::function<Health()> check);
  // Who, besides the [monitoring] fingerprints, may read GET /healthz and /metrics: true for
  // an accredited TSM (the key release looks the certificate up in the store). Default: nobody.
  // Called from the workers, for requests within the per-peer rate limit; an exception means
  // "cannot tell now" (HTTP 503).
  void set_accreditation_check(std::function<bool(const CallerIdentity&)> check);

  // Loads the TLS material, binds, starts the threads. Throws ServerError. Call ssl_init()
  // (tls_init.h) once before, from the main thread.
  void start();
  // The bound port (useful with port 0).
  std::uint16_t port() const noexcept;
  // Graceful stop: stop accepting, let in-flight requests finish, close every connection.
  // Thread-safe and async-signal-safe (it only writes to an eventfd).
  void stop() noexcept;
  // Blocks until stopped, then runs the on_shutdown hook. Idempotent.
  void wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs `server` until SIGTERM or SIGINT: blocks both signals in the calling thread (call this
// before creating other threads, so they inherit the mask), starts the server, waits for a
// signal in a helper thread, stops and waits. Returns 0 on a clean stop.
int run_until_signal(Server& server);

}  // namespace sekds::service
