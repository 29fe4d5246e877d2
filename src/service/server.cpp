// Threads and connections of sekds-server: the listener, the epoll event thread, the workers,
// TLS set-up and graceful shutdown. One request is served by request.cpp.
#include "service/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "service/logging.h"
#include "service/soap_endpoint.h"
#include "service/tls_identity.h"

namespace sekds::service {
namespace {

using Clock = std::chrono::steady_clock;
using detail::Connection;
using detail::LogThrottle;
using detail::close_transport;
using detail::openssl_error;
using detail::peer_key_of;
using detail::quick_disconnect;
using detail::soap_error_text;

// TLS 1.2 suites when no list is configured: forward secrecy and AEAD only.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305";

}  // namespace


struct Server::Impl {
  // Serve: read what arrived, serve the request once complete. Timeout: answer 408 to a
  // request that did not arrive in time.
  enum class TaskKind { Handshake, Serve, Timeout, Close };
  struct Task {
    Connection* conn;
    TaskKind kind;
  };

  Impl(const ServerConfig& c, KeyService& k, ServiceMetrics& m) : config(c), ctx(config, k, m) {}

  ServerConfig config;
  detail::ServerContext ctx;
  std::function<void()> on_shutdown;

  struct soap* listener = nullptr;
  std::unique_ptr<detail::SoapPool> pool;  // contexts lent to connections while they are served
  int epoll_fd = -1;
  int wake_fd = -1;
  std::uint16_t bound_port = 0;
  std::thread events;
  std::vector<std::thread> workers;
  bool started = false;
  bool waited = false;
  std::atomic<int> open{0};

  std::mutex mu;  // ready queue
  std::condition_variable cv;
  std::deque<Task> ready;
  bool workers_exit = false;

  // Connections waiting in the epoll set (for the idle and handshake deadlines). Workers park
  // connections themselves (no hop through the event thread), hence the lock.
  std::mutex parked_mu;
  std::unordered_set<Connection*> parked;
  char listen_tag = 0, wake_tag = 0;       // epoll data.ptr markers
  LogThrottle refused_log, handshake_log;

  // Connections in the TLS handshake, per client address (peer_key_of): unauthenticated, each
  // may hold a connection slot for handshake_timeout, so one address gets at most
  // max_handshakes_per_peer of them. Event thread (accept) and workers (done, closed).
  std::mutex handshakes_mu;
  std::unordered_map<std::string, unsigned> handshakes;

  ~Impl() {
    pool.reset();  // copies of the listener's context: before it
    if (listener) {
      soap_destroy(listener);
      soap_end(listener);
      soap_free(listener);
    }
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void wake() noexcept {
    std::uint64_t one = 1;
    ssize_t n = ::write(wake_fd, &one, sizeof one);
    (void)n;
  }

  void push(Connection* c, TaskKind kind) {
    {
      std::lock_guard lock(mu);
      ready.push_back({c, kind});
    }
    cv.notify_one();
  }

  void setup_tls() {
    const TlsConfig& t = config.tls;
    unsigned short flags = SOAP_SSL_REQUIRE_CLIENT_AUTHENTICATION | SOAP_SSL_NO_DEFAULT_CA_PATH | SOAP_TLSv1_3;
    if (t.min_version == "1.2") flags |= SOAP_TLSv1_2;
    // The certificate and key are loaded below with OpenSSL directly (separate files, precise
    // errors); gSOAP sets up verification against the TSM CA only (NO_DEFAULT_CA_PATH: without
    // it, any system-trusted CA could issue client certificates, TOOLCHAIN gotcha 1).
    if (soap_ssl_server_context(listener, flags, nullptr, nullptr, t.client_ca.c_str(), nullptr, nullptr, nullptr,
                                "sekds") != SOAP_OK)
      throw ServerError("tls.client_ca: " + t.client_ca.string() + ": " + soap_error_text(listener));
    SSL_CTX* ssl_ctx = listener->ctx;
    if (!ssl_ctx) throw ServerError("tls: cannot create the TLS context: " + openssl_error());
    if (SSL_CTX_use_certificate_chain_file(ssl_ctx, t.certificate.c_str()) != 1)
      throw ServerError("tls.certificate: " + t.certificate.string() + ": " + openssl_error());
    if (SSL_CTX_use_PrivateKey_file(ssl_ctx, t.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
      throw ServerError("tls.private_key: " + t.private_key.string() + ": " + openssl_error());
    if (SSL_CTX_check_private_key(ssl_ctx) != 1)
      throw ServerError("tls.private_key: does not belong to tls.certificate: " + openssl_error());
    SSL_CTX_set_min_proto_version(ssl_ctx, t.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    // An idle connection gives its 16 KB read and write buffers back (34 KB each otherwise).
    SSL_CTX_set_mode(ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_set_cipher_list(ssl_ctx, t.ciphers.empty() ? kDefaultCiphers : t.ciphers.c_str()) != 1)
      throw ServerError("tls.ciphers: no usable cipher in \"" + t.ciphers + "\"");
    if (t.crl && soap_ssl_crl(listener, t.crl->c_str()) != SOAP_OK)
      throw ServerError("tls.crl: " + t.crl->string() + ": " + soap_error_text(listener));
  }

  void bind_listener() {
    SOAP_SOCKET m = soap_bind(listener, config.listen.c_str(), config.port, static_cast<int>(config.backlog));
    if (!soap_valid_socket(m)) {
      int e = listener->errnum;
      std::string where = fmt::format("{}:{}", config.listen, config.port);
      if (e == EADDRINUSE) throw ServerError(fmt::format("server.port: {} is already in use", where));
      if (e == EACCES) throw ServerError(fmt::format("server.port: {}: permission denied (ports below 1024 need privileges)", where));
      if (e == EADDRNOTAVAIL) throw ServerError(fmt::format("server.listen: {}: address not available on this host", where));
      throw ServerError(fmt::format("server.listen: cannot listen on {}: {}", where, soap_error_text(listener)));
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(m, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET) bound_port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      else if (ss.ss_family == AF_INET6) bound_port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
  }

  void start() {
    listener = soap_new2(SOAP_IO_KEEPALIVE | SOAP_XML_STRICT, SOAP_IO_KEEPALIVE);
    if (!listener) throw ServerError("server: out of memory");
    listener->bind_flags = SO_REUSEADDR;
    listener->socket_flags = MSG_NOSIGNAL;
    listener->max_keep_alive = 0;  // connections live until idle or closed by the client
    listener->accept_timeout = -100000;  // accept() only after epoll said readable: 0.1 s at most
    listener->recv_timeout = config.recv_timeout_s;
    listener->send_timeout = config.send_timeout_s;
    listener->transfer_timeout = config.request_timeout_s;
    // Backstops behind the request guard (which is exact): gSOAP's own limits.
    listener->recv_maxlength = config.max_message_size + 64 * 1024;
    listener->maxlevel = config.max_xml_depth;
    listener->maxoccurs = 1024;
    setup_tls();
    detail::install_hooks(ctx, listener);
    listener->fclose = quick_disconnect;
    bind_listener();
    // After bind: the copies keep the listening socket as `master` (see accept_one).
    struct soap* prototype = soap_copy(listener);
    if (!prototype) throw ServerError("server: out of memory");
    pool = std::make_unique<detail::SoapPool>(prototype);

    epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd < 0 || wake_fd < 0) throw ServerError(std::string("server: epoll/eventfd: ") + std::strerror(errno));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_tag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener->master, &ev);
    ev.data.ptr = &wake_tag;
    ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);

    started = true;
    for (unsigned i = 0; i < config.workers; ++i) workers.emplace_back([this] { worker_loop(); });
    events = std::thread([this] { event_loop(); });
    log_json(spdlog::level::info, {{"event", "listening"}, {"address", config.listen}, {"port", bound_port},
                                   {"workers", config.workers}, {"max_connections", config.max_connections},
                                   {"max_handshakes_per_peer", config.max_handshakes_per_peer}});
  }

  // ---- event thread ----

  // Counts a new connection from `key` as in the handshake; false (nothing counted) when that
  // address has max_handshakes_per_peer already.
  bool take_handshake_slot(const std::string& key) {
    {
      std::lock_guard lock(handshakes_mu);
      unsigned& n = handshakes[key];
      if (config.max_handshakes_per_peer != 0 && n >= config.max_handshakes_per_peer) return false;
      ++n;
    }
    ctx.metrics.handshakes_in_progress.inc();
    return true;
  }

  // The handshake of `c` is done or abandoned: it no longer counts for its address.
  void release_handshake_slot(Connection* c) {
    if (!c->handshake_counted) return;
    c->handshake_counted = false;
    {
      std::lock_guard lock(handshakes_mu);
      auto it = handshakes.find(c->peer_key);
      if (it != handshakes.end() && --it->second == 0) handshakes.erase(it);
    }
    ctx.metrics.handshakes_in_progress.dec();
  }

  void accept_one() {
    SOAP_SOCKET s = soap_accept(listener);
    if (!soap_valid_socket(s)) return;  // vanished before accept(), or a transient error
    ctx.metrics.connections_accepted.inc();
    std::string key = peer_key_of(listener->peer.storage);
    const char* refuse = nullptr;
    if (ctx.stopping) refuse = "shutting_down";
    else if (open.load() >= static_cast<int>(config.max_connections)) refuse = "max_connections";
    else if (!take_handshake_slot(key)) refuse = "handshakes_per_peer";
    if (refuse) {
      ::close(s);  // refused before any TLS: the client sees the connection closed
      listener->socket = SOAP_INVALID_SOCKET;
      ctx.metrics.connections_rejected.with({refuse}).inc();
      long suppressed = 0;
      if (refused_log.allow(suppressed))
        log_json(spdlog::level::warn, {{"event", "connection_refused"}, {"reason", refuse},
                                       {"peer", fmt::format("{}:{}", listener->host, listener->port)},
                                       {"not_logged_since", suppressed}});
      return;
    }
    int one = 1;
    ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    listener->socket = SOAP_INVALID_SOCKET;
    // No soap context yet: one is lent from the pool for each request (the pooled copies keep
    // the listening socket as `master`: gSOAP writes "HTTP/1.1 <status>" for error answers only
    // when it sees a valid master socket, otherwise it assumes CGI and writes "Status:").
    // The TLS handshake is driven step by step from epoll (handshake_step in the workers), so a
    // client that connects and dawdles holds no thread; it is closed at its deadline.
    SSL* ssl = SSL_new(listener->ctx);
    auto* c = new Connection(ctx, *pool, s, ssl, static_cast<short>(listener->keep_alive));
    bool v6 = std::strchr(listener->host, ':') != nullptr;
    c->peer = v6 ? fmt::format("[{}]:{}", listener->host, listener->port) : fmt::format("{}:{}", listener->host, listener->port);
    c->peer_key = std::move(key);
    c->handshake_counted = true;  // take_handshake_slot() above
    ++open;
    ctx.metrics.open_connections.inc();
    if (!ssl || SSL_set_fd(ssl, s) != 1) {
      ERR_clear_error();
      push(c, TaskKind::Close);
      return;
    }
    ::fcntl(s, F_SETFL, ::fcntl(s, F_GETFL) | O_NONBLOCK);
    c->handshake_deadline = Clock::now() + std::chrono::seconds(config.handshake_timeout_s);
    if (!arm(c)) push(c, TaskKind::Close);
  }

  // Waits for `c`'s socket in the epoll set (one shot). Any thread. False if epoll refused.
  bool arm(Connection* c) {
    epoll_event ev{};
    ev.events = (c->want_write ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    std::lock_guard lock(parked_mu);
    parked.insert(c);  // before arming: the event may fire at once
    int op = c->armed ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (::epoll_ctl(epoll_fd, op, c->fd, &ev) != 0 &&
        ::epoll_ctl(epoll_fd, op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
      parked.erase(c);
      return false;
    }
    c->armed = true;
    return true;
  }

  // Event thread, parked_mu held.
  void close_parked(Connection* c, TaskKind then = TaskKind::Close) {
    ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
    c->armed = false;
    parked.erase(c);
    push(c, then);  // closing may write a TLS alert: never in this thread
  }

  void event_loop() {
    epoll_event evs[64];
    bool listening = true;
    auto last_sweep = Clock::now();
    const auto idle = std::chrono::seconds(config.idle_timeout_s);
    for (;;) {
      int n = ::epoll_wait(epoll_fd, evs, 64, 250);
      for (int i = 0; i < n; ++i) {
        void* p = evs[i].data.ptr;
        if (p == &listen_tag) {
          if (listening) accept_one();
        } else if (p == &wake_tag) {
          std::uint64_t v;
          ssize_t r = ::read(wake_fd, &v, sizeof v);
          (void)r;
        } else {
          auto* c = static_cast<Connection*>(p);
          {
            std::lock_guard lock(parked_mu);
            parked.erase(c);  // EPOLLONESHOT: disarmed until parked again
          }
          push(c, c->handshake_done ? TaskKind::Serve : TaskKind::Handshake);
        }
      }
      auto now = Clock::now();
      if (ctx.stopping) {
        if (listening) {
          ::epoll_ctl(epoll_fd, EPOLL_CTL_DEL, listener->master, nullptr);
          ::close(listener->master);  // new connections are refused from here on
          listener->master = SOAP_INVALID_SOCKET;
          listening = false;
          log_json(spdlog::level::info, {{"event", "stopping"}, {"open_connections", open.load()}});
        }
        {
          std::lock_guard lock(parked_mu);
          std::vector<Connection*> idle_now(parked.begin(), parked.end());
          for (Connection* c : idle_now) close_parked(c);
        }
        if (open.load() == 0) break;
      } else if (now - last_sweep >= std::chrono::seconds(1)) {
        last_sweep = now;
        std::lock_guard lock(parked_mu);
        std::vector<Connection*> expired, late;
        const auto recv_timeout = std::chrono::seconds(config.recv_timeout_s);
        const auto request_timeout = std::chrono::seconds(config.request_timeout_s);
        for (Connection* c : parked) {
          if (c->handshake_done && c->reader.started()) {
            // A request under way: a stall past recv_timeout, or slower than request_timeout.
            if (now - c->last_rx >= recv_timeout || now - c->started >= request_timeout) late.push_back(c);
          } else if (c->handshake_done ? now - c->last_active >= idle : now >= c->handshake_deadline) {
            expired.push_back(c);
          }
        }
        for (Connection* c : late) close_parked(c, TaskKind::Timeout);
        for (Connection* c : expired) {
          if (c->handshake_done) {
            ctx.metrics.idle_closed.inc();
          } else {
            ctx.metrics.connections_rejected.with({"tls_handshake_timeout"}).inc();
            log_json(spdlog::level::info, {{"event", "tls_handshake_timeout"}, {"peer", c->peer}});
          }
          close_parked(c);
        }
      }
    }
    {
      std::lock_guard lock(mu);
      workers_exit = true;
    }
    cv.notify_all();
  }

  // ---- workers ----

  void destroy(Connection* c) {
    release_handshake_slot(c);
    delete c;
    --open;
    ctx.metrics.open_connections.dec();
    if (ctx.stopping) wake();
  }

  void park(Connection* c) {
    if (ctx.stopping) {
      destroy(c);
      return;
    }
    // gSOAP read from the connection's reader, never from the socket: its buffer holds
    // nothing of a next request, and the context goes back to the pool.
    if (c->attached()) c->detach();
    if (c->fd < 0) {  // closed by gSOAP
      destroy(c);
      return;
    }
    // Bytes already received (a pipelined request, or OpenSSL's buffer) would never wake epoll.
    if (c->handshake_done && (c->reader.state() != HttpRequestReader::State::NeedMore ||
                              (c->ssl && (SSL_pending(c->ssl) > 0 || SSL_has_pending(c->ssl))))) {
      push(c, TaskKind::Serve);
      return;
    }
    if (!arm(c)) destroy(c);
  }

  // Reads what the connection has received, without blocking, until its request is complete;
  // only then is a soap context lent and the request served. A client that sends slowly or
  // stops holds no worker: the connection waits in epoll, its deadline kept by event_loop().
  void read_step(Connection* c) {
    using State = HttpRequestReader::State;
    State st = c->reader.state();
    char buf[16384];
    while (st == State::NeedMore) {
      ERR_clear_error();
      int n = SSL_read(c->ssl, buf, sizeof buf);
      if (n > 0) {
        auto now = Clock::now();
        if (!c->reader.started()) {
          c->started = now;
          c->continue_sent = false;
        }
        c->last_rx = now;
        st = c->reader.feed(std::string_view(buf, static_cast<std::size_t>(n)));
        if (st == State::NeedMore && !c->continue_sent && c->reader.header_complete() &&
            c->reader.expects_continue()) {
          static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
          c->continue_sent = true;
          if (SSL_write(c->ssl, kContinue, sizeof kContinue - 1) <= 0) ERR_clear_error();  // it may send anyway
        }
        continue;
      }
      int e = SSL_get_error(c->ssl, n);
      ERR_clear_error();
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        park(c);
        return;
      }
      // The client closed (close_notify or EOF) or the TLS layer failed: between requests that
      // is the normal end of a keep-alive connection; within one, nothing can be answered.
      if (c->reader.started())
        log_json(spdlog::level::info, {{"event", "request"}, {"peer", c->peer}, {"tsm_fp", c->identity.cert_sha256_hex},
                                       {"op", "-"}, {"fault", "disconnected"}, {"received_bytes", c->reader.request().size()}});
      destroy(c);
      return;
    }
    c->want_write = false;
    try {
      c->attach();
    } catch (const std::bad_alloc&) {
      destroy(c);
      return;
    }
    detail::After after;
    switch (st) {
      case State::Complete: after = detail::serve_one(*c); break;
      case State::BodyTooLarge: after = detail::refuse_unread(*c, detail::Unread::BodyTooLarge); break;
      case State::HeaderTooLarge: after = detail::refuse_unread(*c, detail::Unread::HeaderTooLarge); break;
      case State::Unsupported: after = detail::refuse_unread(*c, detail::Unread::Unsupported); break;
      default: after = detail::refuse_unread(*c, detail::Unread::Malformed); break;
    }
    if (after == detail::After::Close) {
      destroy(c);
      return;
    }
    c->reader.next();
    park(c);
  }

  void timeout_step(Connection* c) {
    try {
      c->attach();
    } catch (const std::bad_alloc&) {
      destroy(c);
      return;
    }
    detail::refuse_unread(*c, detail::Unread::Timeout);
    destroy(c);
  }

  // One non-blocking step of the server side of the TLS handshake (what soap_ssl_accept does,
  // without its internal waiting loop).
  void handshake_step(Connection* c) {
    if (ctx.stopping) {
      ctx.metrics.connections_rejected.with({"shutting_down"}).inc();
      destroy(c);
      return;
    }
    ERR_clear_error();
    int r = SSL_accept(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        park(c);
        return;
      }
      std::string why = e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ? "connection closed during the handshake"
                                                                              : openssl_error();
      long verify = SSL_get_verify_result(c->ssl);
      if (verify != X509_V_OK) why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      ERR_clear_error();
      ctx.metrics.connections_rejected.with({"tls_handshake"}).inc();
      long suppressed = 0;
      if (handshake_log.allow(suppressed))
        log_json(spdlog::level::info, {{"event", "tls_handshake_failed"}, {"peer", c->peer}, {"error", why},
                                       {"not_logged_since", suppressed}});
      destroy(c);
      return;
    }
    // Belt and braces: the context requires a verified client certificate already.
    auto id = SSL_get_verify_result(c->ssl) == X509_V_OK ? peer_identity(c->ssl, c->peer) : std::nullopt;
    if (!id) {
      ctx.metrics.connections_rejected.with({"tls_handshake"}).inc();
      destroy(c);
      return;
    }
    c->identity = std::move(*id);
    c->handshake_done = true;
    release_handshake_slot(c);
    c->want_write = false;
    c->last_active = Clock::now();
    log_json(spdlog::level::debug, {{"event", "tls_established"}, {"peer", c->peer}, {"tsm_fp", c->identity.cert_sha256_hex},
                                    {"tsm_subject", c->identity.subject}, {"tls", SSL_get_version(c->ssl)},
                                    {"resumed", SSL_session_reused(c->ssl) == 1}});
    park(c);
  }

  void worker_loop() {
    for (;;) {
      Task t;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return !ready.empty() || workers_exit; });
        if (ready.empty()) return;
        t = ready.front();
        ready.pop_front();
      }
      switch (t.kind) {
        case TaskKind::Close:
          destroy(t.conn);
          break;
        case TaskKind::Handshake:
          handshake_step(t.conn);
          break;
        case TaskKind::Serve:
          read_step(t.conn);
          break;
        case TaskKind::Timeout:
          timeout_step(t.conn);
          break;
      }
    }
  }

  void wait() {
    if (!started || waited) return;
    waited = true;
    if (events.joinable()) events.join();
    for (auto& w : workers)
      if (w.joinable()) w.join();
    log_json(spdlog::level::info, {{"event", "stopped"}});
    if (on_shutdown) on_shutdown();
  }
};

Server::Server(const ServerConfig& config, KeyService& keys, ServiceMetrics& metrics)
    : impl_(std::make_unique<Impl>(config, keys, metrics)) {}

Server::~Server() {
  if (impl_->started && !impl_->waited) {
    stop();
    impl_->wait();
  }
}

void Server::set_on_shutdown(std::function<void()> hook) { impl_->on_shutdown = std::move(hook); }
void Server::set_health_check(std::function<Health()> check) { impl_->ctx.set_health(std::move(check)); }
void Server::set_accreditation_check(std::function<bool(const CallerIdentity&)> check) {
  impl_->ctx.set_accredited(std::move(check));
}
void Server::start() { impl_->start(); }
std::uint16_t Server::port() const noexcept { return impl_->bound_port; }

void Server::stop() noexcept {
  impl_->ctx.stopping.store(true);
  if (impl_->wake_fd >= 0) impl_->wake();
}

void Server::wait() { impl_->wait(); }

}  // namespace sekds::service
