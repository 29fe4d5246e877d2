#include "support.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "gp/keywrap.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/service_metrics.h"

extern char** environ;

namespace sekds::test {

// ---- ScratchDir / Pki ----

ScratchDir::ScratchDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

const Pki& pki() {
  static ScratchDir dir("sekds-tsm-pki");
  static Pki p = [] {
    const RunResult r = run_process({"bash", SEKDS_DEV_PKI, dir.path()});
    if (r.status != 0) throw std::runtime_error("certs/dev-pki.sh failed: " + r.out + r.err);
    return Pki{dir.path()};
  }();
  return p;
}

void write_private(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot write " + path);
  if (::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    ::close(fd);
    throw std::runtime_error("cannot write " + path);
  }
  ::fchmod(fd, 0600);
  ::close(fd);
}

// ---- TtpSimulator ----

void TtpSimulator::set_issuer(Issuer i) {
  std::lock_guard<std::mutex> l(mu_);
  issuer_ = std::move(i);
}

void TtpSimulator::set_kek(std::uint32_t index, gp::SecureBytes value) {
  std::lock_guard<std::mutex> l(mu_);
  keks_[index] = std::move(value);
}

std::vector<service::GetKeysRequest> TtpSimulator::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

std::vector<std::string> TtpSimulator::callers() const {
  std::lock_guard<std::mutex> l(mu_);
  return callers_;
}

std::variant<service::GetKeysResponse, service::Fault> TtpSimulator::get_diversified_keys(const service::CallerIdentity& caller,
                                                                                         const service::GetKeysRequest& r) {
  if (slow_calls.load() > 0) {
    --slow_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
  }
  std::lock_guard<std::mutex> l(mu_);
  requests_.push_back(r);
  callers_.push_back(caller.subject);
  if (fault) return *fault;
  auto kek = keks_.find(r.kek_index);
  if (kek == keks_.end()) return service::Fault{service::FaultCode::UnknownKek, "no KEK with that index"};
  service::GetKeysResponse out;
  out.key_set_version = r.key_set_version.value_or(issuer_.kvn);
  out.key_type = issuer_.key_type;
  out.scp = issuer_.scp;
  out.kek_index = r.kek_index;
  out.kek_kcv = gp::kcv(gp::KcvAlg::AesGp, kek->second);
  const gp::StaticKeys keys = gp::diversify(issuer_.scheme, issuer_.master, r.kdd);
  const gp::KcvAlg alg = gp::gp_kcv_alg(issuer_.key_type);
  service::WrappedKeyOut* o[3] = {&out.enc, &out.mac, &out.dek};
  for (auto role : gp::kKeyRoles) {
    const std::size_t i = static_cast<std::size_t>(role) - 1;
    o[i]->wrapped_key = gp::aes_key_wrap(gp::KeyWrapAlgorithm::Rfc3394, kek->second, keys.of(role));
    o[i]->kcv = gp::kcv(alg, keys.of(role));
  }
  out.audit_id = "audit-" + std::to_string(requests_.size());
  if (tamper) tamper(out);
  return out;
}

std::variant<std::vector<service::KekInfo>, service::Fault> TtpSimulator::get_kek_info(const service::CallerIdentity&) {
  return std::vector<service::KekInfo>{};
}

// ---- TtpServer ----

TtpServer::TtpServer(TtpSimulator& keys)
    : registry_(std::make_unique<service::MetricsRegistry>()),
      metrics_(std::make_unique<service::ServiceMetrics>(*registry_)) {
  const Pki& p = pki();
  service::ServerConfig c;
  c.listen = "127.0.0.1";
  c.port = 0;
  c.workers = 2;
  c.rate_per_tsm = 0;
  c.handshake_timeout_s = 5;
  c.recv_timeout_s = 5;
  c.send_timeout_s = 5;
  c.tls.certificate = p.crt("server");
  c.tls.private_key = p.key("server");
  c.tls.client_ca = p.crt("ca");
  c.tls.crl = p.dir + "/ca.crl";
  server_ = std::make_unique<service::Server>(c, keys, *metrics_);
  server_->start();
}

TtpServer::~TtpServer() {
  server_->stop();
  server_->wait();
}

std::uint16_t TtpServer::port() const { return server_->port(); }
std::string TtpServer::endpoint() const { return "https://localhost:" + std::to_string(port()) + "/sekds/v1"; }

// ---- processes ----

namespace {

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    bool overridden = false;
    for (const auto& x : extra)
      if (kv.substr(0, kv.find('=') + 1) == x.substr(0, x.find('=') + 1)) overridden = true;
    if (!overridden) env.push_back(kv);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env, int out_fd, int err_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store = environment_with(extra_env);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

RunResult run_process(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = spawn(argv, extra_env, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  RunResult r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  r.status = wait_status(pid);
  return r;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  // stderr goes to the test's stderr (the ctest log).
  pid_ = spawn(argv, extra_env, out[1], 2);
  ::close(out[1]);
  out_ = out[0];
}

ChildProcess::~ChildProcess() {
  stop();
  if (out_ >= 0) ::close(out_);
}

std::string ChildProcess::wait_for_line(const std::string& needle) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    std::size_t nl;
    while ((nl = buf_.find('\n')) != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (line.find(needle) != std::string::npos) return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("child did not print '" + needle + "' in 30 s; got: " + buf_);
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char b[4096];
    const ssize_t n = ::read(out_, b, sizeof b);
    if (n <= 0) throw std::runtime_error("child exited before printing '" + needle + "'; got: " + buf_);
    buf_.append(b, static_cast<std::size_t>(n));
  }
}

int ChildProcess::stop() {
  if (stopped_ || pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  status_ = wait_status(pid_);
  stopped_ = true;
  return status_;
}

std::vector<int> personalise_cards(const std::string& db, int count, const std::string& scp, const std::string& i,
                                   const std::string& method, const std::string& master_file, const std::string& url,
                                   const std::string& kvn, const std::string& iin) {
  const RunResult r = run_process({SEKDS_CARD_BIN, "personalise", "--db", db, "--count", std::to_string(count), "--issuer", iin,
                                   "--kvn", kvn, "--scp", scp, "--i", i, "--method", method, "--master-key-file", master_file,
                                   "--url", url, "--json"});
  if (r.status != 0) throw std::runtime_error("sekds-card personalise failed: " + r.out + r.err);
  std::vector<int> slots;
  const nlohmann::json j = nlohmann::json::parse(r.out);  // kept: a range-for over parse(...).at() would dangle
  for (const auto& c : j.at("cards")) slots.push_back(c.at("slot").get<int>());
  if (slots.empty()) throw std::runtime_error("sekds-card personalise --json listed no cards: " + r.out);
  return slots;
}

GridChild::GridChild(const std::string& db) : proc_({SEKDS_CARD_BIN, "serve", "--db", db, "--grid", "127.0.0.1:0"}) {
  const std::string line = proc_.wait_for_line("on grid");
  port_ = static_cast<std::uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
}

}  // namespace sekds::test
