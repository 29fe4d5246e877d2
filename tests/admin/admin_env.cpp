#include "admin_env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "gp/bytes.h"

extern char** environ;

namespace sekds::test {

namespace {

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> environment_with(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string s(*e);
    bool overridden = false;
    for (const auto& x : extra) {
      auto eq = x.find('=');
      if (eq != std::string::npos && s.compare(0, eq + 1, x, 0, eq + 1) == 0) overridden = true;
    }
    if (!overridden) env.push_back(s);
  }
  for (const auto& x : extra) env.push_back(x);
  return env;
}

}  // namespace

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

RunResult run_process(const std::vector<std::string>& argv, const std::string& input,
                      const std::vector<std::string>& extra_env) {
  TempDir io("sekds-admin-io");
  const std::string in_path = io.path() + "/stdin", out_path = io.path() + "/stdout", err_path = io.path() + "/stderr";
  write_file(in_path, input, 0600);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = environment_with(extra_env);
  auto cargs = c_strings(args);
  auto cenv = c_strings(env);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, cargs[0], &fa, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  RunResult r;
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  if (WIFEXITED(status)) r.rc = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) r.rc = 128 + WTERMSIG(status);
  return r;
}

std::string admin_binary() { return std::string(SEKDS_BINARY_DIR) + "/src/admin/sekds-admin"; }
std::string server_binary() { return std::string(SEKDS_BINARY_DIR) + "/src/service/sekds-server"; }
std::string source_dir() { return SEKDS_SOURCE_DIR; }

const Pki& pki() {
  static TempDir dir("sekds-admin-pki");
  static Pki p = [] {
    Pki out;
    out.dir = fs::path(dir.path()) / "pki";
    RunResult r = run_process({source_dir() + "/certs/dev-pki.sh", out.dir.string()});
    if (r.rc != 0) throw std::runtime_error("certs/dev-pki.sh failed: " + r.err);
    return out;
  }();
  return p;
}

// ---- certificates the dev PKI does not make ----

namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(FILE* p) const { std::fclose(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

template <class T>
std::unique_ptr<T, Free> own(T* p, const char* what) {
  if (p == nullptr) throw std::runtime_error(std::string(what) + " failed");
  return std::unique_ptr<T, Free>(p);
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  auto ext = own(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value), "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext.get(), -1);
}

}  // namespace

fs::path make_certificate(const fs::path& dir, const std::string& name, const std::string& cn, CertKind kind) {
  const Pki& p = pki();
  auto ca_file = own(std::fopen(p.crt("ca").c_str(), "rb"), "open ca.crt");
  auto ca = own(PEM_read_X509(ca_file.get(), nullptr, nullptr, nullptr), "read ca.crt");
  auto cakey_file = own(std::fopen(p.key("ca").c_str(), "rb"), "open ca.key");
  auto cakey = own(PEM_read_PrivateKey(cakey_file.get(), nullptr, nullptr, nullptr), "read ca.key");
  auto key = own(EVP_EC_gen("P-256"), "EVP_EC_gen");
  auto cert = own(X509_new(), "X509_new");
  X509_set_version(cert.get(), 2);
  static long serial = 0x5000;
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), ++serial);
  const long day = 24 * 3600;
  switch (kind) {
    case CertKind::Expired:
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -30 * day);
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), -1 * day);
      break;
    case CertKind::NotYetValid:
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), 10 * day);
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 40 * day);
      break;
    default:
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -day);
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30 * day);
  }
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* n = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("sekds DEMO ONLY"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  add_ext(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  if (kind == CertKind::ServerAuthOnly) add_ext(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  if (kind != CertKind::NoEku && kind != CertKind::ServerAuthOnly)
    add_ext(cert.get(), ca.get(), NID_ext_key_usage, "clientAuth");
  if (X509_sign(cert.get(), cakey.get(), EVP_sha256()) == 0) throw std::runtime_error("X509_sign failed");
  const fs::path out = dir / (name + ".crt");
  auto f = own(std::fopen(out.c_str(), "wb"), "create certificate file");
  PEM_write_X509(f.get(), cert.get());
  return out;
}

std::string cert_sha256(const fs::path& pem) {
  auto f = own(std::fopen(pem.c_str(), "rb"), "open certificate");
  auto c = own(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), "read certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_digest(c.get(), EVP_sha256(), md, &len);
  return gp::to_hex(gp::ByteView(md, len));
}

// ---- AdminEnv ----

AdminEnv::AdminEnv(std::uint16_t port) {
  token_ = std::make_unique<SoftHsmToken>("admin-test");
  const char* t = std::getenv("TMPDIR");
  std::string tmpl = std::string(t != nullptr && *t != '\0' ? t : "/tmp") + "/sekds-admin-env-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_ = dir_ / "sekds.toml";
  const Pki& p = pki();
  std::ostringstream c;
  c << "# test configuration (the server's format)\n"
    << "[server]\nlisten = \"127.0.0.1\"\nport = " << port << "\nworkers = 2\n"
    << "[tls]\ncertificate = \"" << p.crt("server").string() << "\"\nprivate_key = \"" << p.key("server").string()
    << "\"\nclient_ca = \"" << p.crt("ca").string() << "\"\ncrl = \"" << (p.dir / "ca.crl").string() << "\"\n"
    << "[hsm]\nmodule = \"" << SoftHsmToken::module_path() << "\"\ntoken = \"" << token_->label() << "\"\npin = \""
    << token_->user_pin_source() << "\"\n"
    << "[store]\npath = \"sekds.db\"\n"
    << "[log]\nlevel = \"info\"\n";
  write_file(config_.string(), c.str(), 0600);
}

AdminEnv::~AdminEnv() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

RunResult AdminEnv::admin(const std::vector<std::string>& args, const std::string& input,
                          const std::vector<std::string>& extra_env) {
  std::vector<std::string> argv = {admin_binary(), "--config", config_.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, input, extra_env);
}

nlohmann::json AdminEnv::admin_json(const std::vector<std::string>& args) {
  std::vector<std::string> a = args;
  a.push_back("--json");
  RunResult r = admin(a);
  if (r.rc != 0) {
    std::string cmd;
    for (const auto& x : args) cmd += x + " ";
    throw std::runtime_error("sekds-admin " + cmd + "failed (" + std::to_string(r.rc) + "): " + r.err);
  }
  return nlohmann::json::parse(r.out);
}

std::string AdminEnv::pkcs11_objects() {
  RunResult r = run_process({"pkcs11-tool", "--module", SoftHsmToken::module_path(), "--token-label", token_->label(),
                             "--login", "--pin", "env:SEKDS_TEST_PIN", "-O"},
                            "", {"SEKDS_TEST_PIN=" + token_->user_pin()});
  if (r.rc != 0) throw std::runtime_error("pkcs11-tool -O failed: " + r.err);
  return r.out;
}

std::vector<std::string> AdminEnv::object_labels() {
  std::vector<std::string> out;
  std::istringstream in(pkcs11_objects());
  std::string line;
  bool data_object = false;  // ceremony records and direct-release data carry their key's label
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ') data_object = line.rfind("Data object", 0) == 0;
    auto p = line.find("label:");
    if (p == std::string::npos || data_object) continue;
    std::string v = line.substr(p + 6);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    while (!v.empty() && v.back() == ' ') v.pop_back();
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);  // data objects
    out.push_back(v);
  }
  return out;
}

std::string AdminEnv::sql(const std::string& statements) {
  RunResult r = run_process({"sqlite3", "-batch", db().string()}, statements);
  if (r.rc != 0) throw std::runtime_error("sqlite3 failed: " + r.err);
  return r.out;
}

std::vector<std::string> AdminEnv::demo_components(const std::string& issuer, unsigned kvn, const std::string& key_type,
                                                   bool per_role, unsigned custodians) {
  std::vector<std::string> args = {"component", "demo-split", "--issuer", issuer, "--kvn", std::to_string(kvn),
                                   "--key-type", key_type, "--custodians", std::to_string(custodians),
                                   "--out", (dir_ / "components" / (issuer + "-" + std::to_string(kvn))).string()};
  if (per_role) args.push_back("--per-role");
  nlohmann::json j = admin_json(args);
  std::vector<std::string> files;
  for (const auto& f : j.at("files")) files.push_back(f.get<std::string>());
  return files;
}

// ---- network ----

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

int https_get(std::uint16_t port, const std::string& path, const fs::path& cert, const fs::path& key, const fs::path& ca,
              std::string* body) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  int status = 0;
  std::string response;
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) == 1 &&
      SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) == 1 &&
      SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) == 1) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    const std::string target = "127.0.0.1:" + std::to_string(port);
    BIO* bio = BIO_new_ssl_connect(ctx);
    SSL* ssl = nullptr;
    BIO_get_ssl(bio, &ssl);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    BIO_set_conn_hostname(bio, target.c_str());
    if (BIO_do_connect(bio) == 1 && BIO_do_handshake(bio) == 1) {
      const std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
      BIO_write(bio, req.data(), static_cast<int>(req.size()));
      char buf[4096];
      for (;;) {
        const int n = BIO_read(bio, buf, sizeof buf);
        if (n <= 0) break;
        response.append(buf, static_cast<std::size_t>(n));
      }
    }
    BIO_free_all(bio);
  }
  SSL_CTX_free(ctx);
  ERR_clear_error();
  if (response.rfind("HTTP/1.", 0) == 0 && response.size() > 12) status = std::atoi(response.substr(9, 3).c_str());
  if (body != nullptr) {
    auto p = response.find("\r\n\r\n");
    *body = p == std::string::npos ? std::string() : response.substr(p + 4);
  }
  return status;
}

// ---- sekds-server ----

ServerProcess::ServerProcess(const fs::path& config, const fs::path& log) : log_(log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<std::string> args = {server_binary(), "--config", config.string()};
  std::vector<std::string> env = environment_with({});
  auto cargs = c_strings(args);
  auto cenv = c_strings(env);
  const int rc = ::posix_spawn(&pid_, cargs[0], &fa, nullptr, cargs.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start sekds-server: " + std::string(std::strerror(rc)));
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

bool ServerProcess::running() {
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

bool ServerProcess::wait_healthy(std::uint16_t port, const fs::path& cert, const fs::path& key, const fs::path& ca) {
  for (int i = 0; i < 300; ++i) {
    if (!running()) return false;
    std::string body;
    if (https_get(port, "/healthz", cert, key, ca, &body) == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string ServerProcess::log() const { return read_text(log_); }

}  // namespace sekds::test
