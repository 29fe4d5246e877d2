#include "service/config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <toml++/toml.h>

namespace sekds::service {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail(const std::string& key, const std::string& problem) {
  throw ConfigError(key + ": " + problem);
}

// Reads one table, remembering which keys were consumed so unknown ones can be reported.
class Section {
 public:
  Section(const toml::table* t, std::string name) : t_(t), name_(std::move(name)) {}

  std::string key(const std::string& k) const { return name_ + "." + k; }
  bool has(const std::string& k) const { return t_ && t_->contains(k); }

  std::optional<std::string> str(const std::string& k) {
    const toml::node* n = get(k);
    if (!n) return std::nullopt;
    if (!n->is_string()) fail(key(k), "must be a string (in quotes)");
    return n->value<std::string>();
  }

  std::optional<std::int64_t> integer(const std::string& k, std::int64_t lo, std::int64_t hi) {
    const toml::node* n = get(k);
    if (!n) return std::nullopt;
    if (!n->is_integer()) fail(key(k), "must be an integer");
    std::int64_t v = *n->value<std::int64_t>();
    if (v < lo || v > hi) fail(key(k), fmt::format("{} is out of range ({}..{})", v, lo, hi));
    return v;
  }

  std::optional<bool> boolean(const std::string& k) {
    const toml::node* n = get(k);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) fail(key(k), "must be true or false");
    return n->value<bool>();
  }

  std::optional<double> number(const std::string& k, double lo, double hi) {
    const toml::node* n = get(k);
    if (!n) return std::nullopt;
    if (!n->is_number()) fail(key(k), "must be a number");
    double v = *n->value<double>();
    if (!(v >= lo && v <= hi)) fail(key(k), fmt::format("{} is out of range ({}..{})", v, lo, hi));
    return v;
  }

  // An array of strings (absent: nullopt).
  std::optional<std::vector<std::string>> strings(const std::string& k) {
    const toml::node* n = get(k);
    if (!n) return std::nullopt;
    const toml::array* a = n->as_array();
    if (!a) fail(key(k), "must be an array of strings ([\"...\", ...])");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      if (!e.is_string()) fail(fmt::format("{}[{}]", key(k), i), "must be a string (in quotes)");
      out.push_back(*e.value<std::string>());
    }
    return out;
  }

  void reject_unknown() const {
    if (!t_) return;
    for (auto&& [k, v] : *t_) {
      std::string ks(k.str());
      if (!used_.count(ks)) fail(key(ks), "unknown key");
    }
  }

 private:
  const toml::node* get(const std::string& k) {
    used_.insert(k);
    return t_ ? t_->get(k) : nullptr;
  }
  const toml::table* t_;
  std::string name_;
  std::set<std::string> used_;
};

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

std::string mode_string(mode_t m) { return fmt::format("{:04o}", static_cast<unsigned>(m & 07777)); }

// Present, a regular file, readable by this process.
struct stat stat_readable(const std::string& key, const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) fail(key, fmt::format("{}: {}", p.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) fail(key, fmt::format("{}: not a regular file", p.string()));
  if (::access(p.c_str(), R_OK) != 0) fail(key, fmt::format("{}: not readable: {}", p.string(), std::strerror(errno)));
  return st;
}

// Secrets: refused if other users have any access, a warning if the group may read. PIN files
// are refused for the group too: src/hsm (pin_source) refuses them at start, and the check must
// not pass a file the server will then refuse.
enum class GroupAccess { Warn, Refuse };
void check_secret_mode(const std::string& key, const fs::path& p, std::vector<std::string>& warnings,
                       GroupAccess group = GroupAccess::Warn) {
  struct stat st = stat_readable(key, p);
  if (group == GroupAccess::Refuse && (st.st_mode & 0077))
    fail(key, fmt::format("{}: accessible by other users or the group (mode {}); chmod 600 it", p.string(),
                          mode_string(st.st_mode)));
  if (st.st_mode & 0007)
    fail(key, fmt::format("{}: accessible by other users (mode {}); chmod 600 it (or 640 for the service's group)",
                          p.string(), mode_string(st.st_mode)));
  if (st.st_mode & 0060)
    warnings.push_back(fmt::format("{}: {}: readable by the file's group (mode {}); make sure that group is only the "
                                   "service",
                                   key, p.string(), mode_string(st.st_mode)));
}

std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data found";
  const char* r = ERR_reason_error_string(e);
  return r ? r : "unknown OpenSSL error";
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File open_file(const std::string& key, const fs::path& p) {
  File f(std::fopen(p.c_str(), "rb"));
  if (!f) fail(key, fmt::format("{}: {}", p.string(), std::strerror(errno)));
  return f;
}

std::string format_asn1_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<X509*> read_certs(const std::string& key, const fs::path& p) {
  File f = open_file(key, p);
  std::vector<X509*> certs;
  while (X509* c = PEM_read_X509(f.get(), nullptr, nullptr, nullptr)) certs.push_back(c);
  unsigned long e = ERR_peek_last_error();
  if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
    for (X509* c : certs) X509_free(c);
    fail(key, fmt::format("{}: not a PEM certificate: {}", p.string(), openssl_reason()));
  }
  ERR_clear_error();
  if (certs.empty()) fail(key, fmt::format("{}: no PEM certificate in it", p.string()));
  return certs;
}

void check_tls(const ServerConfig& c, std::vector<std::string>& warnings) {
  stat_readable("tls.certificate", c.tls.certificate);
  check_secret_mode("tls.private_key", c.tls.private_key, warnings);
  stat_readable("tls.client_ca", c.tls.client_ca);

  std::vector<X509*> chain = read_certs("tls.certificate", c.tls.certificate);
  X509* leaf = chain.front();
  auto free_chain = [&] {
    for (X509* x : chain) X509_free(x);
  };
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    std::string when = format_asn1_time(X509_get0_notAfter(leaf));
    free_chain();
    fail("tls.certificate", fmt::format("{}: expired on {}", c.tls.certificate.string(), when));
  }

  File kf = open_file("tls.private_key", c.tls.private_key);
  EVP_PKEY* pkey = PEM_read_PrivateKey(kf.get(), nullptr, nullptr, const_cast<char*>(""));
  if (!pkey) {
    free_chain();
    fail("tls.private_key", fmt::format("{}: cannot read an unencrypted PEM private key: {}",
                                        c.tls.private_key.string(), openssl_reason()));
  }
  bool match = X509_check_private_key(leaf, pkey) == 1;
  EVP_PKEY_free(pkey);
  free_chain();
  ERR_clear_error();
  if (!match)
    fail("tls.private_key", fmt::format("{} does not belong to the certificate in {}", c.tls.private_key.string(),
                                        c.tls.certificate.string()));

  std::vector<X509*> cas = read_certs("tls.client_ca", c.tls.client_ca);
  for (X509* x : cas) X509_free(x);

  if (c.tls.crl) {
    stat_readable("tls.crl", *c.tls.crl);
    File f = open_file("tls.crl", *c.tls.crl);
    X509_CRL* crl = PEM_read_X509_CRL(f.get(), nullptr, nullptr, nullptr);
    if (!crl) fail("tls.crl", fmt::format("{}: not a PEM CRL: {}", c.tls.crl->string(), openssl_reason()));
    const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
    bool expired = next && X509_cmp_current_time(next) < 0;
    std::string when = format_asn1_time(next);
    X509_CRL_free(crl);
    if (expired)
      fail("tls.crl", fmt::format("{}: expired on {} (OpenSSL would refuse every client); issue a fresh CRL",
                                  c.tls.crl->string(), when));
  }
}

void check_parent_dir(const std::string& key, const fs::path& p) {
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) fail(key, fmt::format("{}: directory {} does not exist", p.string(), dir.string()));
}

}  // namespace

ServerConfig parse_config(std::string_view toml_text, const fs::path& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", source.string(), e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  const fs::path base = source.parent_path().empty() ? fs::path(".") : source.parent_path();
  ServerConfig c;
  c.source = source;

  static const std::set<std::string> sections = {"server", "limits", "monitoring", "tls", "hsm", "store", "release", "log"};
  for (auto&& [k, v] : root) {
    std::string ks(k.str());
    if (!sections.count(ks))
      fail(ks, "unknown section or key (expected [server], [limits], [monitoring], [tls], [hsm], [store], [release], [log])");
    if (!v.is_table()) fail(ks, "must be a table ([" + ks + "])");
  }
  auto table = [&](const char* name) { return root.get_as<toml::table>(name); };

  Section server(table("server"), "server");
  if (auto v = server.str("listen")) {
    if (v->empty()) fail("server.listen", "must not be empty");
    c.listen = *v;
  }
  if (auto v = server.integer("port", 0, 65535)) c.port = static_cast<std::uint16_t>(*v);
  if (auto v = server.integer("workers", 1, 256)) c.workers = static_cast<unsigned>(*v);
  if (auto v = server.integer("backlog", 1, 65535)) c.backlog = static_cast<unsigned>(*v);
  if (auto v = server.integer("idle_timeout", 1, 86400)) c.idle_timeout_s = static_cast<int>(*v);
  if (auto v = server.integer("handshake_timeout", 1, 600)) c.handshake_timeout_s = static_cast<int>(*v);
  if (auto v = server.integer("recv_timeout", 1, 600)) c.recv_timeout_s = static_cast<int>(*v);
  if (auto v = server.integer("send_timeout", 1, 600)) c.send_timeout_s = static_cast<int>(*v);
  if (auto v = server.integer("request_timeout", 1, 3600)) c.request_timeout_s = static_cast<int>(*v);
  server.reject_unknown();

  Section limits(table("limits"), "limits");
  if (auto v = limits.integer("max_connections", 1, 100000)) c.max_connections = static_cast<unsigned>(*v);
  if (auto v = limits.integer("max_handshakes_per_peer", 0, 100000)) c.max_handshakes_per_peer = static_cast<unsigned>(*v);
  if (auto v = limits.integer("max_message_size", 1024, 16 * 1024 * 1024))
    c.max_message_size = static_cast<std::size_t>(*v);
  if (auto v = limits.integer("max_xml_depth", 4, 1000)) c.max_xml_depth = static_cast<unsigned>(*v);
  if (auto v = limits.number("rate_per_tsm", 0, 1e6)) c.rate_per_tsm = *v;
  if (auto v = limits.number("rate_burst", 1, 1e6)) c.rate_burst = *v;
  limits.reject_unknown();

  Section monitoring(table("monitoring"), "monitoring");
  if (auto v = monitoring.strings("fingerprints")) {
    for (std::size_t i = 0; i < v->size(); ++i) {
      auto fp = normalise_fingerprint((*v)[i]);
      if (!fp)
        fail(fmt::format("monitoring.fingerprints[{}]", i),
             fmt::format("\"{}\" is not a SHA-256 certificate fingerprint (64 hex digits, ':' allowed; e.g. "
                         "openssl x509 -in monitor.crt -noout -fingerprint -sha256)",
                         (*v)[i].substr(0, 100)));
      c.monitoring.fingerprints.push_back(*fp);
    }
  }
  if (auto v = monitoring.number("rate_per_peer", 0, 1e6)) c.monitoring.rate_per_peer = *v;
  if (auto v = monitoring.number("burst_per_peer", 1, 1e6)) c.monitoring.burst_per_peer = *v;
  // At least one probe per 1000 s, so /healthz never reports a state older than that.
  if (auto v = monitoring.number("health_probe_rate", 0.001, 1000)) c.monitoring.health_probe_rate = *v;
  monitoring.reject_unknown();

  Section tls(table("tls"), "tls");
  auto required_path = [&](Section& s, const char* k) {
    auto v = s.str(k);
    if (!v) fail(s.key(k), "missing (required)");
    if (v->empty()) fail(s.key(k), "must not be empty");
    return resolve(base, *v);
  };
  c.tls.certificate = required_path(tls, "certificate");
  c.tls.private_key = required_path(tls, "private_key");
  c.tls.client_ca = required_path(tls, "client_ca");
  if (auto v = tls.str("crl"); v && !v->empty()) c.tls.crl = resolve(base, *v);
  if (auto v = tls.str("min_version")) {
    if (*v != "1.2" && *v != "1.3") fail("tls.min_version", "must be \"1.2\" or \"1.3\"");
    c.tls.min_version = *v;
  }
  if (auto v = tls.str("ciphers")) c.tls.ciphers = *v;
  tls.reject_unknown();

  if (table("hsm")) {
    Section hsm(table("hsm"), "hsm");
    HsmConfig h;
    h.module = required_path(hsm, "module");
    auto token = hsm.str("token");
    if (!token || token->empty()) fail("hsm.token", "missing (required: a token label or a pkcs11: URI)");
    h.token = *token;
    auto pin_source = [&](const char* k, const std::string& v) {
      if (v.rfind("file:", 0) == 0 && v.size() > 5) return "file:" + resolve(base, v.substr(5)).string();
      if (v.rfind("env:", 0) == 0 && v.size() > 4) return v;
      fail(hsm.key(k), "must be \"file:PATH\" or \"env:NAME\" (a PIN never goes in the configuration itself)");
    };
    auto pin = hsm.str("pin");
    if (!pin || pin->empty()) fail("hsm.pin", "missing (required: \"file:PATH\" or \"env:NAME\")");
    h.pin = pin_source("pin", *pin);
    if (auto so = hsm.str("so_pin")) h.so_pin = pin_source("so_pin", *so);
    hsm.reject_unknown();
    c.hsm = h;
  }

  if (table("store")) {
    Section store(table("store"), "store");
    c.store = StoreConfig{required_path(store, "path")};
    store.reject_unknown();
  }

  if (c.hsm.has_value() != c.store.has_value())
    fail(c.hsm ? "store" : "hsm", "missing: key release needs both [hsm] and [store] (or neither, to serve WSPing only)");

  Section release(table("release"), "release");
  if (auto v = release.boolean("reject_counter_anomaly")) c.release.reject_counter_anomaly = *v;
  if (auto v = release.integer("idempotency_window", 0, 7 * 86400)) c.release.idempotency_window_s = static_cast<int>(*v);
  if (auto v = release.number("refusal_audit_rate", 0, 1e6)) c.release.refusal_audit_rate = *v;
  if (auto v = release.number("refusal_audit_burst", 1, 1e6)) c.release.refusal_audit_burst = *v;
  release.reject_unknown();

  Section log(table("log"), "log");
  if (auto v = log.str("level")) {
    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.count(*v)) fail("log.level", "must be one of trace, debug, info, warn, error, critical, off");
    c.log_level = *v;
  }
  if (auto v = log.str("file"); v && !v->empty()) c.log_file = resolve(base, *v);
  log.reject_unknown();
  return c;
}

void check_files(const ServerConfig& c, std::vector<std::string>& warnings) {
  check_tls(c, warnings);
  if (c.hsm) {
    stat_readable("hsm.module", c.hsm->module);
    if (c.hsm->pin.rfind("file:", 0) == 0) {
      check_secret_mode("hsm.pin", fs::path(c.hsm->pin.substr(5)), warnings, GroupAccess::Refuse);
    } else {
      std::string name = c.hsm->pin.substr(4);
      if (std::getenv(name.c_str()) == nullptr) fail("hsm.pin", fmt::format("environment variable {} is not set", name));
    }
  }
  if (c.store) check_parent_dir("store.path", c.store->path);
  if (c.log_file) check_parent_dir("log.file", *c.log_file);
}

std::optional<std::string> normalise_fingerprint(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == ':') continue;
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  if (out.size() != 64) return std::nullopt;
  return out;
}

ServerConfig load_config(const fs::path& file, std::vector<std::string>& warnings) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  std::stringstream ss;
  ss << in.rdbuf();
  ServerConfig c;
  try {
    c = parse_config(ss.str(), file);
    check_files(c, warnings);
  } catch (const ConfigError& e) {
    // parse errors already start with the file name
    std::string m = e.what();
    if (m.rfind(file.string(), 0) == 0) throw;
    throw ConfigError(fmt::format("{}: {}", file.string(), m));
  }
  return c;
}

}  // namespace sekds::service
