// Test support for sekds-admin: the real binary run as a child process against a throwaway
// SoftHSM token, a real SQLite file and the dev PKI of certs/dev-pki.sh; certificates the dev
// PKI does not make (expired, not yet valid, without clientAuth); a raw TLS GET for /healthz;
// sekds-server as a child process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/softhsm_token.h"

namespace sekds::test {

namespace fs = std::filesystem;

struct RunResult {
  int rc = -1;
  std::string out, err;
};

// Runs argv (argv[0] looked up in PATH unless it contains '/') with the current environment
// plus `extra_env` ("NAME=value"), `input` on stdin; stdout and stderr captured separately.
RunResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                      const std::vector<std::string>& extra_env = {});

std::string admin_binary();   // build tree's sekds-admin
std::string server_binary();  // build tree's sekds-server
std::string source_dir();

// The dev PKI (certs/dev-pki.sh), made once per test process, plus certificates signed by its
// CA that the script does not make.
struct Pki {
  fs::path dir;
  fs::path crt(const std::string& who) const { return dir / (who + ".crt"); }
  fs::path key(const std::string& who) const { return dir / (who + ".key"); }
};
const Pki& pki();

enum class CertKind { Expired, NotYetValid, NoEku, ServerAuthOnly };
// A leaf for `cn` signed by the dev CA, written as <dir>/<name>.crt. Returns the path.
fs::path make_certificate(const fs::path& dir, const std::string& name, const std::string& cn, CertKind kind);

// SHA-256 fingerprint of a PEM certificate (OpenSSL, independent of the admin code).
std::string cert_sha256(const fs::path& pem);

// One test's world: a SoftHSM token, a directory with a configuration file (the server's
// format: [server], [tls], [hsm], [store], [log]) and the database file it names.
class AdminEnv {
 public:
  explicit AdminEnv(std::uint16_t port = 0);
  ~AdminEnv();
  AdminEnv(const AdminEnv&) = delete;
  AdminEnv& operator=(const AdminEnv&) = delete;

  const fs::path& dir() const noexcept { return dir_; }
  const fs::path& config() const noexcept { return config_; }
  fs::path db() const { return dir_ / "sekds.db"; }
  SoftHsmToken& token() noexcept { return *token_; }
  std::string so_pin_source() const { return token_->so_pin_source(); }

  // sekds-admin --config <config> args...
  RunResult admin(const std::vector<std::string>& args, const std::string& input = "",
                  const std::vector<std::string>& extra_env = {});
  // The same with --json; requires exit code 0 and returns the parsed output.
  nlohmann::json admin_json(const std::vector<std::string>& args);

  // pkcs11-tool --login -O on the token (user PIN through the environment).
  std::string pkcs11_objects();
  // Labels of the key objects on the token (pkcs11-tool output; data objects left out).
  std::vector<std::string> object_labels();
  // sqlite3 shell on the database; returns stdout, requires exit 0.
  std::string sql(const std::string& statements);

  // DEMO component sheets for a master key set (component demo-split); returns their paths.
  std::vector<std::string> demo_components(const std::string& issuer, unsigned kvn, const std::string& key_type,
                                           bool per_role = false, unsigned custodians = 2);

 private:
  std::unique_ptr<SoftHsmToken> token_;
  fs::path dir_, config_;
};

// A free TCP port on 127.0.0.1 (bound and released; good enough for one test's server).
std::uint16_t free_port();

// GET `path` over mutual TLS; returns the HTTP status (0 if no answer) and sets *body.
int https_get(std::uint16_t port, const std::string& path, const fs::path& cert, const fs::path& key,
              const fs::path& ca, std::string* body);

// sekds-server --config FILE as a child process, stopped (SIGTERM, then SIGKILL) on destruction.
class ServerProcess {
 public:
  ServerProcess(const fs::path& config, const fs::path& log);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  // Polls /healthz (a hang detector, ~30 s) with the given client certificate.
  bool wait_healthy(std::uint16_t port, const fs::path& cert, const fs::path& key, const fs::path& ca);
  bool running();
  pid_t pid() const noexcept { return pid_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  fs::path log_;
};

// Reads a whole file.
std::string read_text(const fs::path& p);

}  // namespace sekds::test
