#include "support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "service/tls_identity.h"

namespace sekds::test {

using namespace sekds::service;

TempDir::TempDir() {
  char tmpl[] = "/tmp/sekds-service-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

const Pki& pki() {
  static std::unique_ptr<TempDir> dir;
  static Pki p;
  if (!dir) {
    dir = std::make_unique<TempDir>();
    p.dir = dir->path() / "pki";
    auto [rc, out] = run_command(std::string(SEKDS_DEV_PKI) + " " + p.dir.string() + " >/dev/null");
    if (rc != 0) throw std::runtime_error("certs/dev-pki.sh failed: " + out);
  }
  return p;
}

std::string fingerprint(const std::string& who) {
  FILE* f = std::fopen(pki().crt(who).c_str(), "rb");
  if (!f) throw std::runtime_error("cannot open the certificate of " + who);
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) throw std::runtime_error("not a PEM certificate: " + who);
  std::string fp = sha256_fingerprint_hex(x);
  X509_free(x);
  return fp;
}

// ---- ScriptedKeyService ----

std::variant<GetKeysResponse, Fault> ScriptedKeyService::get_diversified_keys(const CallerIdentity& caller,
                                                                              const GetKeysRequest& request) {
  KeysFn f;
  {
    std::lock_guard lock(mu_);
    callers_.push_back(caller);
    last_ = request;
    f = keys_;
  }
  if (!f) return sample_response();
  return f(caller, request);
}

std::variant<std::vector<KekInfo>, Fault> ScriptedKeyService::get_kek_info(const CallerIdentity& caller) {
  KekFn f;
  {
    std::lock_guard lock(mu_);
    callers_.push_back(caller);
    f = kek_;
  }
  if (!f) return std::vector<KekInfo>{};
  return f(caller);
}

void ScriptedKeyService::on_get_keys(KeysFn f) {
  std::lock_guard lock(mu_);
  keys_ = std::move(f);
}

void ScriptedKeyService::on_kek_info(KekFn f) {
  std::lock_guard lock(mu_);
  kek_ = std::move(f);
}

std::vector<CallerIdentity> ScriptedKeyService::callers() const {
  std::lock_guard lock(mu_);
  return callers_;
}

std::optional<GetKeysRequest> ScriptedKeyService::last_request() const {
  std::lock_guard lock(mu_);
  return last_;
}

GetKeysResponse sample_response() {
  GetKeysResponse r;
  r.key_set_version = 0x30;
  r.key_type = gp::KeyType::Aes128;
  r.scp = 3;
  r.kek_index = 7;
  r.kek_kcv = {0x11, 0x22, 0x33};
  r.enc = {gp::Bytes(24, 0xE1), {0x01, 0x02, 0x03}};
  r.mac = {gp::Bytes(24, 0xA2), {0x04, 0x05, 0x06}};
  r.dek = {gp::Bytes(24, 0xD3), {0x07, 0x08, 0x09}};
  r.audit_id = "audit-000042";
  return r;
}

ServerConfig test_config() {
  const Pki& p = pki();
  ServerConfig c;
  c.listen = "127.0.0.1";
  c.port = 0;
  c.workers = 4;
  c.idle_timeout_s = 60;
  c.handshake_timeout_s = 5;
  c.recv_timeout_s = 5;
  c.send_timeout_s = 5;
  c.request_timeout_s = 10;
  c.rate_per_tsm = 0;
  c.tls.certificate = p.crt("server");
  c.tls.private_key = p.key("server");
  c.tls.client_ca = p.crt("ca");
  c.tls.crl = p.file("ca.crl");
  return c;
}

// ---- TestServer ----

TestServer::TestServer(const std::function<void(ServerConfig&)>& tweak) : config_(test_config()) {
  if (tweak) tweak(config_);
  server_ = std::make_unique<Server>(config_, keys_, metrics_);
  server_->set_accreditation_check([accredited = std::vector<std::string>{fingerprint("tsm1"), fingerprint("tsm2")}](
                                       const CallerIdentity& who) {
    return std::find(accredited.begin(), accredited.end(), who.cert_sha256_hex) != accredited.end();
  });
  server_->start();
}

TestServer::~TestServer() {
  server_->stop();
  server_->wait();
}

std::string TestServer::endpoint() const { return "https://localhost:" + std::to_string(port()) + "/sekds/v1"; }

ClientOptions TestServer::client_options(const std::string& who, int soap_version) const {
  const Pki& p = pki();
  ClientOptions o;
  o.endpoint = endpoint();
  o.certificate = p.crt(who);
  o.private_key = p.key(who);
  o.ca_file = p.crt("ca");
  o.soap_version = soap_version;
  o.connect_timeout_s = 5;
  o.recv_timeout_s = 15;
  o.send_timeout_s = 15;
  return o;
}

Client TestServer::client(const std::string& who, int soap_version) const {
  return Client(client_options(who, soap_version));
}

// ---- raw TLS ----

namespace {

std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error queued" : out;
}

int connect_loopback(std::uint16_t port, const std::string& source = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!source.empty()) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{15, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

struct TlsConn {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  ~TlsConn() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};

// "" when the handshake succeeded.
std::string open_tls(TlsConn& t, std::uint16_t port, const TlsClientConfig& cfg) {
  ERR_clear_error();
  const Pki& p = pki();
  t.ctx = SSL_CTX_new(TLS_client_method());
  if (!cfg.cipher_list.empty()) SSL_CTX_set_cipher_list(t.ctx, cfg.cipher_list.c_str());
  if (cfg.min_version) SSL_CTX_set_min_proto_version(t.ctx, cfg.min_version);
  if (cfg.max_version) SSL_CTX_set_max_proto_version(t.ctx, cfg.max_version);
  if (!cfg.who.empty()) {
    if (SSL_CTX_use_certificate_chain_file(t.ctx, p.crt(cfg.who).c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(t.ctx, p.key(cfg.who).c_str(), SSL_FILETYPE_PEM) != 1)
      return "cannot load client certificate: " + ssl_errors();
  }
  SSL_CTX_load_verify_locations(t.ctx, p.crt("ca").c_str(), nullptr);
  SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, nullptr);
  t.fd = connect_loopback(port, cfg.source);
  if (t.fd < 0) return std::string("connect: ") + std::strerror(errno);
  t.ssl = SSL_new(t.ctx);
  SSL_set_fd(t.ssl, t.fd);
  SSL_set_tlsext_host_name(t.ssl, "localhost");
  if (SSL_connect(t.ssl) != 1) return ssl_errors();
  return "";
}

std::optional<HttpResponse> parse_http(const std::string& raw) {
  auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return std::nullopt;
  HttpResponse r;
  r.raw = raw;
  r.status = std::atoi(raw.substr(9, 3).c_str());
  std::istringstream hs(raw.substr(0, end));
  std::string line;
  std::getline(hs, line);
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  r.body = raw.substr(end + 4);
  return r;
}

}  // namespace

int tcp_connect_loopback(std::uint16_t port, const std::string& source) { return connect_loopback(port, source); }

std::optional<HttpResponse> trickle(std::uint16_t port, const std::string& prefix, int interval_ms, int max_seconds) {
  TlsConn t;
  if (!open_tls(t, port, {}).empty()) return std::nullopt;
  SSL_write(t.ssl, prefix.data(), static_cast<int>(prefix.size()));
  // Non-blocking from here: readable may only mean a TLS 1.3 session ticket.
  ::fcntl(t.fd, F_SETFL, ::fcntl(t.fd, F_GETFL) | O_NONBLOCK);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  std::string raw;
  char buf[4096];
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    pollfd p{t.fd, POLLIN, 0};
    if (SSL_pending(t.ssl) > 0 || ::poll(&p, 1, interval_ms) > 0) {
      for (;;) {
        int n = SSL_read(t.ssl, buf, sizeof buf);
        if (n > 0) {
          raw.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        closed = SSL_get_error(t.ssl, n) != SSL_ERROR_WANT_READ;
        break;
      }
      if (!raw.empty()) closed = closed || parse_http(raw).has_value();
      continue;
    }
    int w = SSL_write(t.ssl, "A", 1);
    if (w <= 0 && SSL_get_error(t.ssl, w) != SSL_ERROR_WANT_WRITE) closed = true;
  }
  if (!closed) return std::nullopt;
  auto r = parse_http(raw);
  return r ? r : std::optional<HttpResponse>(HttpResponse{});
}

std::string tls_handshake_error(std::uint16_t port, const TlsClientConfig& cfg) {
  TlsConn t;
  return open_tls(t, port, cfg);
}

std::optional<HttpResponse> tls_exchange(std::uint16_t port, const std::string& request, const TlsClientConfig& cfg,
                                         std::string* error) {
  TlsConn t;
  std::string err = open_tls(t, port, cfg);
  if (!err.empty()) {
    if (error) *error = err;
    return std::nullopt;
  }
  std::size_t off = 0;
  while (off < request.size()) {
    int n = SSL_write(t.ssl, request.data() + off, static_cast<int>(std::min<std::size_t>(request.size() - off, 16384)));
    if (n <= 0) break;  // the server may answer and close before reading everything
    off += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    int n = SSL_read(t.ssl, buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
    auto r = parse_http(raw);
    if (r && r->headers.count("content-length") &&
        r->body.size() >= static_cast<std::size_t>(std::stoul(r->headers["content-length"])))
      break;
  }
  auto r = parse_http(raw);
  if (!r && error) *error = "no HTTP response (" + std::to_string(raw.size()) + " bytes): " + ssl_errors();
  return r;
}

std::string soap11_envelope(const std::string& inner, const std::string& header) {
  std::string h = header.empty() ? "" : "<soap:Header>" + header + "</soap:Header>";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
         "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:s=\"https://sekds.example/sekds/v1\">" +
         h + "<soap:Body>" + inner + "</soap:Body></soap:Envelope>";
}

std::string soap_post(const std::string& body, const std::string& soap_action, const std::string& content_type,
                      const std::string& path) {
  std::string r = "POST " + path + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: " + content_type +
                  "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!soap_action.empty()) r += "SOAPAction: \"" + soap_action + "\"\r\n";
  return r + "\r\n" + body;
}

// ---- ChildServer ----

std::string child_config_toml(std::uint16_t port) {
  const Pki& p = pki();
  std::ostringstream s;
  s << "[server]\nlisten = \"127.0.0.1\"\nport = " << port << "\nworkers = 2\n"
    << "[tls]\ncertificate = \"" << p.crt("server").string() << "\"\nprivate_key = \"" << p.key("server").string()
    << "\"\nclient_ca = \"" << p.crt("ca").string() << "\"\ncrl = \"" << p.file("ca.crl").string() << "\"\n"
    << "[log]\nlevel = \"info\"\n";
  return s.str();
}

ChildServer::ChildServer(const TempDir& dir, const std::string& config_toml, const std::map<std::string, std::string>& env) {
  fs::path conf = dir / "server.toml";
  log_ = dir / "server.log";
  std::ofstream(conf) << config_toml;
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execl(SEKDS_SERVER_BIN, SEKDS_SERVER_BIN, "--config", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Safety net against a hang, not a speed check: the server prints "listening" when ready.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string l = log();
    auto at = l.find("\"event\":\"listening\"");
    if (at != std::string::npos) {
      auto p = l.find("\"port\":", at);
      if (p != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::atoi(l.c_str() + p + 7));
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("sekds-server exited early: " + l);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("sekds-server did not start: " + log());
}

ChildServer::~ChildServer() {
  if (pid_ > 0) signal_and_wait(SIGKILL);
}

int ChildServer::signal_and_wait(int sig) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ChildServer::log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace sekds::test
