// sekds-server configuration (TOML, toml++). deploy/sekds-server.example.toml documents every
// key. Relative paths are resolved against the directory of the configuration file.
//
// Every problem is a ConfigError whose message is ONE line naming the key and what is wrong,
// e.g. "tls.private_key: /etc/sekds/server.key: readable by other users (mode 0644); chmod 600 it".
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sekds::service {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TlsConfig {
  std::filesystem::path certificate;  // server certificate chain (PEM), leaf first
  std::filesystem::path private_key;  // its private key (PEM, unencrypted); may be the same file
  std::filesystem::path client_ca;    // CA bundle (PEM) that TSM client certificates must chain to
  std::optional<std::filesystem::path> crl;  // optional CRL (PEM) of that CA
  std::string min_version = "1.2";    // "1.2" or "1.3"
  std::string ciphers;                // TLS 1.2 cipher list; empty = the built-in ECDHE+AEAD list
};

struct HsmConfig {  // read here, opened by main (key release)
  std::filesystem::path module;  // PKCS#11 module (.so)
  std::string token;             // token label, or an RFC 7512 pkcs11: URI
  std::string pin;               // PIN source: "file:/path" (path resolved) or "env:NAME"
  // The SO PIN source of sekds-admin's KEK ceremonies, accepted so one file serves both
  // programs; the server never reads it (and need not be able to).
  std::optional<std::string> so_pin;
};

struct StoreConfig {  // read here, opened by main (key release)
  std::filesystem::path path;  // SQLite database file
};

// [release]: the key-release policy (key_release_service.h).
struct ReleaseConfig {
  // A card's sequence counter that repeats or goes backwards is always flagged (audit detail,
  // metrics); true also refuses the release with CounterReplay.
  bool reject_counter_anomaly = false;
  // A retry with the same RequestId within this window gets the same answer and AuditId.
  int idempotency_window_s = 600;
  // Refusals are audited up to this rate per caller (token bucket); the rest are only counted
  // (sekds_refusal_audits_total{outcome="dropped"}), so a flood cannot fill the disk.
  double refusal_audit_rate = 1.0;
  double refusal_audit_burst = 20;
};

// [monitoring]: who may read GET /healthz and /metrics, and how often. Both endpoints answer an
// accredited TSM (its certificate in the store) or a certificate listed here; anyone else with
// a certificate of tls.client_ca gets 403. The store has no role for TSM records, and a
// monitoring system must not be a TSM that could be entitled to keys: it gets a certificate of
// its own, listed here.
struct MonitoringConfig {
  std::vector<std::string> fingerprints;  // SHA-256 of the certificate (DER), 64 uppercase hex digits
  // Per client address (IPv4 address, IPv6 /64): token bucket; beyond it HTTP 429. 0 = no limit.
  double rate_per_peer = 5;
  double burst_per_peer = 20;
  // Each /healthz probe touches the HSM and the store: at most this many probes per second in
  // all; more frequent calls are answered from the last probe's result.
  double health_probe_rate = 1;
};

struct ServerConfig {
  // [server]
  std::string listen = "127.0.0.1";
  std::uint16_t port = 8443;  // 0 = any free port (tests)
  // Workers wait on the HSM and on the durable audit commit (group commit gathers the waiting
  // ones into one fsync): more of them than cores keep the CPU busy. Measured on 2 cores, 64
  // keep-alive connections at half the key-release capacity: p99 28 ms with 4, 5 ms with 16.
  unsigned workers = 16;
  unsigned backlog = 128;
  int idle_timeout_s = 60;       // a parked keep-alive connection is closed after this
  int handshake_timeout_s = 10;  // TLS handshake
  int recv_timeout_s = 5;        // one read may stall this long
  int send_timeout_s = 5;        // one write may stall this long
  // A whole request (read) or response (write). A request is read without holding a worker
  // (HttpRequestReader in the event loop); past this it is answered 408.
  int request_timeout_s = 10;
  // [limits]
  unsigned max_connections = 256;
  // Connections from one client address (IPv4 address, IPv6 /64) still in the TLS handshake;
  // more are closed at accept. Without it one address could hold every max_connections slot
  // for handshake_timeout each, unauthenticated. 0 = no per-address cap (all clients behind
  // one address, e.g. a NAT).
  unsigned max_handshakes_per_peer = 16;
  std::size_t max_message_size = 64 * 1024;  // request body bytes
  unsigned max_xml_depth = 32;
  double rate_per_tsm = 50;   // requests per second per client certificate; 0 = unlimited
  double rate_burst = 100;    // bucket size
  // [monitoring]
  MonitoringConfig monitoring;
  // [tls]
  TlsConfig tls;
  // [hsm], [store]: both or neither; without them key operations answer HsmUnavailable.
  std::optional<HsmConfig> hsm;
  std::optional<StoreConfig> store;
  // [release]
  ReleaseConfig release;
  // [log]
  std::string log_level = "info";  // trace debug info warn error critical off
  std::optional<std::filesystem::path> log_file;  // default: stderr

  std::filesystem::path source;  // the file it was read from (for messages)
};

// Parses and checks types, ranges and unknown keys; does not touch the files it names.
ServerConfig parse_config(std::string_view toml_text, const std::filesystem::path& source);
// Reads `file`, parse_config(), then check_files(). Warnings (e.g. a group-readable key) are
// appended to `warnings`.
ServerConfig load_config(const std::filesystem::path& file, std::vector<std::string>& warnings);
// Checks the files the configuration names: present, readable, private keys and PIN files not
// accessible by other users (refused) and not readable by the group (a warning: a deployment
// may grant the service's group read access with 0640), PEM contents that parse, the
// certificate matching its key, the CRL not expired, the PKCS#11 module present.
void check_files(const ServerConfig& config, std::vector<std::string>& warnings);

// A certificate fingerprint as given by an operator ("ab:cd:..." or "ABCD...", SHA-256) in the
// form CallerIdentity uses (64 uppercase hex digits, no ':'); nullopt if it is not one.
std::optional<std::string> normalise_fingerprint(std::string_view text);

}  // namespace sekds::service
