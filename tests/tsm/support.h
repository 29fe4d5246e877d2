// Real pieces for the TSM's integration tests (and the e2e tests reuse the process helpers):
// a dev PKI from certs/dev-pki.sh, a software TTP behind the real mutual-TLS sekds server,
// child processes with separate stdout/stderr, and sekds-card serve --grid as a child.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <variant>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/diversification.h"
#include "gp/key_type.h"
#include "service/key_service.h"

namespace sekds::service {
class Server;
class MetricsRegistry;
class ServiceMetrics;
}  // namespace sekds::service

namespace sekds::test {

// A private directory removed (recursively) on destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix = "sekds-tsm");
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// certs/dev-pki.sh run once per process into a scratch directory.
struct Pki {
  std::string dir;
  std::string crt(const std::string& who) const { return dir + "/" + who + ".crt"; }
  std::string key(const std::string& who) const { return dir + "/" + who + ".key"; }
};
const Pki& pki();

// A TTP in software behind the service's KeyService interface: diversifies the issuer's
// master with the KDD and wraps each key under KEK `index` (RFC 3394), as sekds does in its HSM.
// Tests switch it to faults, delays and tampered answers.
class TtpSimulator final : public service::KeyService {
 public:
  struct Issuer {
    gp::DiversificationScheme scheme;
    gp::KeyType key_type = gp::KeyType::Aes128;
    gp::SecureBytes master;
    std::uint8_t kvn = 1;
    std::uint8_t scp = 3;
  };
  void set_issuer(Issuer i);
  void set_kek(std::uint32_t index, gp::SecureBytes value);

  std::variant<service::GetKeysResponse, service::Fault> get_diversified_keys(const service::CallerIdentity& caller,
                                                                              const service::GetKeysRequest& r) override;
  std::variant<std::vector<service::KekInfo>, service::Fault> get_kek_info(const service::CallerIdentity& caller) override;

  // Test levers.
  std::optional<service::Fault> fault;                         // answer this instead
  std::function<void(service::GetKeysResponse&)> tamper;       // applied to every answer
  std::atomic<int> slow_calls{0};                               // the next N calls sleep slow_ms first
  int slow_ms = 0;
  std::vector<service::GetKeysRequest> requests() const;
  std::vector<std::string> callers() const;  // subjects

 private:
  mutable std::mutex mu_;
  Issuer issuer_;
  std::map<std::uint32_t, gp::SecureBytes> keks_;
  std::vector<service::GetKeysRequest> requests_;
  std::vector<std::string> callers_;
};

// The real sekds server (mutual TLS, dev PKI) on a free loopback port in this process.
class TtpServer {
 public:
  explicit TtpServer(TtpSimulator& keys);
  ~TtpServer();
  std::uint16_t port() const;
  std::string endpoint() const;  // https://localhost:PORT/sekds/v1

 private:
  std::unique_ptr<service::MetricsRegistry> registry_;
  std::unique_ptr<service::ServiceMetrics> metrics_;
  std::unique_ptr<service::Server> server_;
};

// A child process with its stdout and stderr captured separately.
struct RunResult {
  int status = -1;  // exit status, or 128+signal
  std::string out, err;
};
RunResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});

// A long-running child (servers): stdout lines can be awaited; SIGTERM + wait on destruction.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {});
  ~ChildProcess();
  // The first stdout line containing `needle` (waits up to ~30 s; throws with the output so far).
  std::string wait_for_line(const std::string& needle);
  int stop();  // SIGTERM, wait, exit status
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buf_;
  bool stopped_ = false;
  int status_ = -1;
};

// `sekds-card personalise` cards into `db` (returns the slots) and `sekds-card serve --grid` on a free port.
std::vector<int> personalise_cards(const std::string& db, int count, const std::string& scp, const std::string& i,
                                   const std::string& method, const std::string& master_file, const std::string& url,
                                   const std::string& kvn = "1", const std::string& iin = "42018C");
class GridChild {
 public:
  explicit GridChild(const std::string& db);
  std::uint16_t port() const noexcept { return port_; }
  std::string spec(int slot) const { return "grid:127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(slot); }
  int stop() { return proc_.stop(); }

 private:
  ChildProcess proc_;
  std::uint16_t port_ = 0;
};

// Writes `content` to `path` with mode 0600.
void write_private(const std::string& path, const std::string& content);

}  // namespace sekds::test
