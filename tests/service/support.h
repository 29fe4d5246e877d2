// Test helpers for the transport: a dev PKI made by certs/dev-pki.sh, an in-process server on a
// free loopback port with a scripted KeyService, a raw TLS client for hand-made requests, and
// a child-process runner for sekds-server itself.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "service/client.h"
#include "service/config.h"
#include "service/key_service.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/service_metrics.h"

namespace sekds::test {

namespace fs = std::filesystem;

// A directory under /tmp removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const noexcept { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// The PKI of certs/dev-pki.sh, generated once per test process.
struct Pki {
  fs::path dir;
  fs::path file(const std::string& name) const { return dir / name; }
  fs::path crt(const std::string& who) const { return dir / (who + ".crt"); }
  fs::path key(const std::string& who) const { return dir / (who + ".key"); }
};
const Pki& pki();
// The SHA-256 fingerprint of `who`'s certificate as the server sees it (CallerIdentity).
std::string fingerprint(const std::string& who);

// Waits until `cond` holds, polling for at most ~20 s: a hang detector for things that
// happen after an answer was sent (metrics are updated then), never a speed check.
template <class F>
bool eventually(F cond) {
  for (int i = 0; i < 2000; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// Runs a shell command; returns its exit status and stdout (stderr goes to the test log).
std::pair<int, std::string> run_command(const std::string& cmd);

// A KeyService whose answers the test chooses; records the callers it saw.
class ScriptedKeyService : public service::KeyService {
 public:
  using KeysFn = std::function<std::variant<service::GetKeysResponse, service::Fault>(
      const service::CallerIdentity&, const service::GetKeysRequest&)>;
  using KekFn = std::function<std::variant<std::vector<service::KekInfo>, service::Fault>(const service::CallerIdentity&)>;

  std::variant<service::GetKeysResponse, service::Fault> get_diversified_keys(
      const service::CallerIdentity& caller, const service::GetKeysRequest& request) override;
  std::variant<std::vector<service::KekInfo>, service::Fault> get_kek_info(const service::CallerIdentity& caller) override;

  void on_get_keys(KeysFn f);
  void on_kek_info(KekFn f);
  std::vector<service::CallerIdentity> callers() const;
  std::optional<service::GetKeysRequest> last_request() const;

 private:
  mutable std::mutex mu_;
  KeysFn keys_;
  KekFn kek_;
  std::vector<service::CallerIdentity> callers_;
  std::optional<service::GetKeysRequest> last_;
};

// A response that passes validate(): 16-byte AES keys wrapped (fake bytes), KCVs, audit id.
service::GetKeysResponse sample_response();

// The base configuration of test servers: loopback, port 0, 4 workers, dev PKI with its CRL.
service::ServerConfig test_config();

// An in-process sekds server, stopped and joined on destruction. It stands in for the store's
// accreditations on /healthz and /metrics: tsm1 and tsm2 are accredited
// (Server::set_accreditation_check; a test may install another).
class TestServer {
 public:
  explicit TestServer(const std::function<void(service::ServerConfig&)>& tweak = {});
  ~TestServer();
  std::uint16_t port() const { return server_->port(); }
  std::string endpoint() const;
  // Options for a client with `who`'s certificate (tsm1, tsm2, tsm3, rogue).
  service::ClientOptions client_options(const std::string& who = "tsm1", int soap_version = 11) const;
  service::Client client(const std::string& who = "tsm1", int soap_version = 11) const;
  ScriptedKeyService& keys() { return keys_; }
  service::ServiceMetrics& metrics() { return metrics_; }
  service::MetricsRegistry& registry() { return registry_; }
  service::Server& server() { return *server_; }
  const service::ServerConfig& config() const { return config_; }

 private:
  ScriptedKeyService keys_;
  service::MetricsRegistry registry_;
  service::ServiceMetrics metrics_{registry_};
  service::ServerConfig config_;
  std::unique_ptr<service::Server> server_;
};

// ---- raw TLS / HTTP for hand-made requests ----

struct TlsClientConfig {
  std::string who = "tsm1";  // certificate to present; empty = none
  int min_version = 0;       // e.g. TLS1_1_VERSION; 0 = library default
  int max_version = 0;
  std::string cipher_list;   // e.g. "DEFAULT@SECLEVEL=0" to allow TLS 1.1 on the client side
  std::string source;        // local address to connect from (e.g. "127.0.0.2": another peer); "" = any
};

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;  // everything received
};

// Connects to 127.0.0.1:port, does the TLS handshake, writes `request` (errors ignored: the
// server may close early), then reads one HTTP response (or until the server closes).
// `error` receives the TLS/IO error text when no response came.
std::optional<HttpResponse> tls_exchange(std::uint16_t port, const std::string& request,
                                         const TlsClientConfig& cfg = {}, std::string* error = nullptr);
// Sends `prefix`, then one more byte every `interval_ms` (a client trickling its request),
// until the server answers or closes; gives up after `max_seconds` (nullopt).
std::optional<HttpResponse> trickle(std::uint16_t port, const std::string& prefix, int interval_ms, int max_seconds);
// A plain TCP connection to 127.0.0.1:port (no TLS), from `source` when given; -1 on failure.
// The caller closes it.
int tcp_connect_loopback(std::uint16_t port, const std::string& source = "");
// The TLS handshake alone: "" on success, the OpenSSL error text otherwise.
std::string tls_handshake_error(std::uint16_t port, const TlsClientConfig& cfg);

// A complete HTTP/1.1 POST of a SOAP body to /sekds/v1 (SOAP 1.1 unless content_type says).
std::string soap_post(const std::string& body, const std::string& soap_action = "",
                      const std::string& content_type = "text/xml; charset=utf-8", const std::string& path = "/sekds/v1");
// A SOAP 1.1 envelope around `inner` (prefix s: is the sekds namespace).
std::string soap11_envelope(const std::string& inner, const std::string& header = "");

// ---- sekds-server as a child process ----

class ChildServer {
 public:
  // Writes `config_toml` to a file in `dir`, starts sekds-server with `env` added to its
  // environment, and waits for its "listening" log line (port 0 in the config is fine).
  ChildServer(const TempDir& dir, const std::string& config_toml, const std::map<std::string, std::string>& env = {});
  ~ChildServer();
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // Sends `sig` and waits; returns the exit status (or 128+signal).
  int signal_and_wait(int sig);
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  fs::path log_;
};

// The TOML of test_config()'s TLS settings for a child server.
std::string child_config_toml(std::uint16_t port = 0);

}  // namespace sekds::test
