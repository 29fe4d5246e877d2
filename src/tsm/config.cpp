#include "tsm/config.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <stdexcept>

#include <toml++/toml.h>

#include "hsm/hsm.h"
#include "tsm/error.h"
#include "tsm/local_key_source.h"
#include "tsm/session.h"
#include "tsm/ttp_url.h"

namespace sekds::tsm {
namespace {

namespace fs = std::filesystem;

struct Ctx {
  fs::path source;
  fs::path dir;
  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw TsmError(TsmErrc::Config, source.string() + ": " + key + ": " + what);
  }
  fs::path path(const std::string& p) const { return fs::path(p).is_absolute() ? fs::path(p) : dir / p; }
};

void check_keys(const Ctx& c, const toml::table& t, const std::string& where, std::set<std::string> allowed) {
  for (const auto& [k, v] : t) {
    (void)v;
    if (!allowed.count(std::string(k.str())))
      c.fail(where.empty() ? std::string(k.str()) : where + "." + std::string(k.str()), "unknown key");
  }
}

std::string get_string(const Ctx& c, const toml::table& t, const std::string& where, const char* key, bool required,
                       const std::string& def = {}) {
  const toml::node* n = t.get(key);
  const std::string name = where.empty() ? key : where + "." + key;
  if (!n) {
    if (required) c.fail(name, "missing");
    return def;
  }
  auto v = n->value<std::string>();
  if (!v) c.fail(name, "must be a string");
  if (v->empty()) c.fail(name, "must not be empty");
  return *v;
}

std::optional<std::int64_t> get_int(const Ctx& c, const toml::table& t, const std::string& where, const char* key,
                                    std::int64_t min, std::int64_t max) {
  const toml::node* n = t.get(key);
  const std::string name = where.empty() ? key : where + "." + key;
  if (!n) return std::nullopt;
  auto v = n->value_exact<std::int64_t>();
  if (!v) c.fail(name, "must be an integer");
  if (*v < min || *v > max) c.fail(name, "must be " + std::to_string(min) + ".." + std::to_string(max));
  return *v;
}

// An https URL (ttp_url.h rules), or a configuration error naming `name`.
TtpUrl https_url(const Ctx& c, const std::string& name, const std::string& url) {
  TtpUrl u;
  try {
    u = parse_ttp_url(url);
  } catch (const std::invalid_argument& e) {
    c.fail(name, e.what());
  }
  if (u.scheme != "https") c.fail(name, "must start with https:// (mutual TLS only)");
  return u;
}

const toml::table& as_table(const Ctx& c, const toml::node& n, const std::string& name) {
  const toml::table* t = n.as_table();
  if (!t) c.fail(name, "must be a table");
  return *t;
}

OwnKeySpec parse_own(const Ctx& c, const toml::table& t, const std::string& where) {
  check_keys(c, t, where, {"scp", "kvn", "method", "master_key_file", "key_type", "layout", "constants"});
  OwnKeySpec o;
  if (auto scp = get_int(c, t, where, "scp", 2, 3)) o.scp = *scp == 2 ? gp::Scp::Scp02 : gp::Scp::Scp03;
  auto kvn = get_int(c, t, where, "kvn", 1, 127);
  if (!kvn) c.fail(where + ".kvn", "missing");
  o.kvn = static_cast<std::uint8_t>(*kvn);
  const std::string method = get_string(c, t, where, "method", true);
  auto m = gp::parse_method(method);
  if (!m) c.fail(where + ".method", "unknown method '" + method + "' (none, visa2, emv, kdf3, scp03kdf)");
  o.scheme = gp::DiversificationScheme::of(*m);
  const std::string layout = get_string(c, t, where, "layout", false);
  const std::string constants = get_string(c, t, where, "constants", false);
  if (!layout.empty() || !constants.empty()) {
    if (*m != gp::DiversificationMethod::Kdf3 && *m != gp::DiversificationMethod::Scp03Kdf)
      c.fail(where + ".layout", "only kdf3 and scp03kdf take a layout");
    try {
      o.scheme.layout = gp::KdfLayout::parse(layout.empty() ? o.scheme.layout.spec() : layout,
                                             constants.empty() ? o.scheme.layout.constants_spec() : constants);
    } catch (const std::exception& e) {
      c.fail(where + ".layout", e.what());
    }
  }
  const std::string kt = get_string(c, t, where, "key_type", false);
  if (!kt.empty()) {
    auto k = gp::parse_key_type(kt);
    if (!k) c.fail(where + ".key_type", "unknown key type '" + kt + "' (DES2, AES128, AES192, AES256)");
    o.key_type = *k;
  }
  o.master_key_file = c.path(get_string(c, t, where, "master_key_file", true));
  return o;
}

}  // namespace

TsmConfig parse_config(std::string_view text, const fs::path& source) {
  Ctx c{source, source.has_parent_path() ? source.parent_path() : fs::path(".")};
  toml::table root;
  try {
    root = toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw TsmError(TsmErrc::Config, source.string() + ":" + std::to_string(b.line) + ":" + std::to_string(b.column) + ": " +
                                        std::string(e.description()));
  }
  check_keys(c, root, "", {"kek_index", "level", "retries", "connect_timeout", "recv_timeout", "ttp", "kek_token", "own_keys"});
  TsmConfig cfg;
  cfg.source = source;
  if (auto v = get_int(c, root, "", "kek_index", 0, 0xFFFFFFFFLL)) cfg.ttp.kek_index = static_cast<std::uint32_t>(*v);
  if (auto v = get_int(c, root, "", "retries", 0, 10)) cfg.ttp.retries = static_cast<unsigned>(*v);
  if (auto v = get_int(c, root, "", "connect_timeout", 1, 600)) cfg.ttp.connect_timeout_s = static_cast<int>(*v);
  if (auto v = get_int(c, root, "", "recv_timeout", 1, 600)) cfg.ttp.recv_timeout_s = static_cast<int>(*v);
  const std::string level = get_string(c, root, "", "level", false);
  if (!level.empty()) {
    try {
      cfg.level = parse_level(level, "level").byte();
    } catch (const TsmError& e) {
      c.fail("level", e.what());
    }
  }
  if (const toml::node* n = root.get("ttp")) {
    const toml::array* a = n->as_array();
    if (!a) c.fail("ttp", "must be an array of tables ([[ttp]])");
    std::vector<TtpUrl> prefixes;
    for (std::size_t i = 0; i < a->size(); ++i) {
      const std::string where = "ttp[" + std::to_string(i) + "]";
      const toml::table& t = as_table(c, *a->get(i), where);
      check_keys(c, t, where, {"url_prefix", "endpoint", "certificate", "private_key", "ca", "kek_index"});
      TtpEndpoint e;
      e.url_prefix = get_string(c, t, where, "url_prefix", true);
      const TtpUrl prefix = https_url(c, where + ".url_prefix", e.url_prefix);
      if (prefix.has_query) c.fail(where + ".url_prefix", "must not have a query ('?'): it is matched on scheme, host, port and path");
      // Two entries for the same place would make the choice of certificate depend on their order.
      for (std::size_t j = 0; j < prefixes.size(); ++j)
        if (prefixes[j].scheme == prefix.scheme && prefixes[j].host == prefix.host && prefixes[j].port == prefix.port &&
            prefixes[j].path == prefix.path)
          c.fail(where + ".url_prefix", "names the same scheme, host, port and path as ttp[" + std::to_string(j) + "].url_prefix");
      prefixes.push_back(prefix);
      const std::string ep = get_string(c, t, where, "endpoint", false);
      if (!ep.empty()) {
        https_url(c, where + ".endpoint", ep);
        e.endpoint = ep;
      }
      e.certificate = c.path(get_string(c, t, where, "certificate", true));
      e.private_key = c.path(get_string(c, t, where, "private_key", true));
      e.ca = c.path(get_string(c, t, where, "ca", true));
      if (auto v = get_int(c, t, where, "kek_index", 0, 0xFFFFFFFFLL)) e.kek_index = static_cast<std::uint32_t>(*v);
      cfg.ttp.endpoints.push_back(std::move(e));
    }
  }
  if (const toml::node* n = root.get("kek_token")) {
    const toml::table& t = as_table(c, *n, "kek_token");
    check_keys(c, t, "kek_token", {"module", "token", "pin", "state_file"});
    KekTokenConfig k;
    k.module = get_string(c, t, "kek_token", "module", false, hsm::kSoftHsmModule);
    k.token = get_string(c, t, "kek_token", "token", true);
    k.pin = get_string(c, t, "kek_token", "pin", true);
    if (k.pin.rfind("file:", 0) == 0) {
      k.pin = "file:" + c.path(k.pin.substr(5)).string();
    } else if (k.pin.rfind("env:", 0) != 0) {
      c.fail("kek_token.pin", "must be a PIN source, \"file:PATH\" or \"env:NAME\" (never the PIN itself)");
    }
    k.state_file = c.path(get_string(c, t, "kek_token", "state_file", false, "kek-state.json"));
    cfg.kek_token = std::move(k);
  }
  if (const toml::node* n = root.get("own_keys")) {
    if (const toml::array* a = n->as_array()) {
      for (std::size_t i = 0; i < a->size(); ++i) {
        const std::string where = "own_keys[" + std::to_string(i) + "]";
        cfg.own_keys.push_back(parse_own(c, as_table(c, *a->get(i), where), where));
      }
    } else {
      cfg.own_keys.push_back(parse_own(c, as_table(c, *n, "own_keys"), "own_keys"));
    }
  }
  return cfg;
}

TsmConfig load_config(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TsmError(TsmErrc::Config, file.string() + ": cannot read the configuration file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_config(text, fs::absolute(file));
}

std::optional<fs::path> config_path(const std::string& cli_value) {
  if (!cli_value.empty()) return fs::path(cli_value);
  if (const char* e = std::getenv("SEKDS_TSM_CONFIG"); e && *e) return fs::path(e);
  return std::nullopt;
}

TsmConfig require_config(const std::string& cli_value) {
  auto p = config_path(cli_value);
  if (!p) throw TsmError(TsmErrc::Config, "no configuration: give --config FILE or set SEKDS_TSM_CONFIG");
  return load_config(*p);
}

void check_ttp_files(const TsmConfig& config) {
  for (std::size_t i = 0; i < config.ttp.endpoints.size(); ++i) {
    const TtpEndpoint& e = config.ttp.endpoints[i];
    const std::string where = config.source.string() + ": ttp[" + std::to_string(i) + "].";
    auto readable = [&](const fs::path& p, const char* key) {
      std::ifstream in(p);
      if (!in) throw TsmError(TsmErrc::Config, where + key + ": " + p.string() + ": cannot read");
    };
    readable(e.certificate, "certificate");
    readable(e.ca, "ca");
    readable(e.private_key, "private_key");
    struct stat st {};
    if (::stat(e.private_key.c_str(), &st) == 0 && (st.st_mode & 007) != 0)
      throw TsmError(TsmErrc::Config, where + "private_key: " + e.private_key.string() +
                                          ": accessible by other users; chmod 600 it");
  }
}

LocalKeySource make_local_key_source(const TsmConfig& config) {
  std::vector<OwnKeySet> sets;
  for (std::size_t i = 0; i < config.own_keys.size(); ++i) {
    const OwnKeySpec& s = config.own_keys[i];
    const std::string where = config.source.string() + ": own_keys[" + std::to_string(i) + "]";
    OwnKeySet o;
    o.scp = s.scp;
    o.kvn = s.kvn;
    o.scheme = s.scheme;
    o.master = read_key_file(s.master_key_file);
    o.master_file = s.master_key_file.string();
    if (s.key_type) {
      o.key_type = *s.key_type;
    } else if (gp::method_is_des(s.scheme.method)) {
      o.key_type = gp::KeyType::Des2;
    } else if (s.scheme.method == gp::DiversificationMethod::None && o.master.size() == 16 && s.scp == gp::Scp::Scp02) {
      o.key_type = gp::KeyType::Des2;
    } else if (auto t = gp::aes_type_for_length(o.master.size())) {
      o.key_type = *t;
    } else {
      throw TsmError(TsmErrc::Config, where + ": cannot tell the key type from a " + std::to_string(o.master.size()) +
                                          "-byte master; set key_type");
    }
    o.check(where);
    sets.push_back(std::move(o));
  }
  return LocalKeySource(std::move(sets));
}

}  // namespace sekds::tsm
