#include "admin/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace sekds::admin {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& key, const std::string& problem) { throw ConfigError(key + ": " + problem); }

fs::path resolve(const fs::path& base, const std::string& p) {
  fs::path path(p);
  return path.is_absolute() ? path : (base / path).lexically_normal();
}

std::optional<std::string> string_key(const toml::table* t, const std::string& section, const char* key) {
  if (t == nullptr) return std::nullopt;
  const toml::node* n = t->get(key);
  if (n == nullptr) return std::nullopt;
  if (!n->is_string()) fail(section + "." + key, "must be a string (in quotes)");
  return n->value<std::string>();
}

std::string required(const toml::table* t, const std::string& section, const char* key, const char* what) {
  auto v = string_key(t, section, key);
  if (!v || v->empty()) fail(section + "." + key, std::string("missing (required: ") + what + ")");
  return *v;
}

}  // namespace

std::string normalise_pin_source(std::string_view key, std::string_view value, const fs::path& base) {
  const std::string v(value);
  if (v.rfind("file:", 0) == 0 && v.size() > 5) return "file:" + resolve(base, v.substr(5)).string();
  if (v.rfind("env:", 0) == 0 && v.size() > 4) return v;
  fail(std::string(key), "must be \"file:PATH\" or \"env:NAME\" (a PIN is never given literally)");
}

AdminConfig parse_admin_config(std::string_view toml_text, const fs::path& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(source.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": TOML syntax error: " + std::string(e.description()));
  }
  const fs::path base = source.parent_path().empty() ? fs::path(".") : source.parent_path();
  AdminConfig c;
  c.source = source;
  for (const char* section : {"store", "hsm", "tls"}) {
    const toml::node* n = root.get(section);
    if (n != nullptr && !n->is_table()) fail(section, std::string("must be a table ([") + section + "])");
  }

  if (const toml::table* store = root.get_as<toml::table>("store")) {
    c.store_path = resolve(base, required(store, "store", "path", "the SQLite database file"));
  }
  if (const toml::table* hsm = root.get_as<toml::table>("hsm")) {
    AdminConfig::Hsm h;
    h.module = resolve(base, required(hsm, "hsm", "module", "the PKCS#11 module path")).string();
    h.token = required(hsm, "hsm", "token", "a token label or a pkcs11: URI");
    h.pin = normalise_pin_source("hsm.pin", required(hsm, "hsm", "pin", "\"file:PATH\" or \"env:NAME\""), base);
    if (auto so = string_key(hsm, "hsm", "so_pin"); so && !so->empty())
      h.so_pin = normalise_pin_source("hsm.so_pin", *so, base);
    c.hsm = h;
  }
  if (const toml::table* tls = root.get_as<toml::table>("tls")) {
    if (auto ca = string_key(tls, "tls", "client_ca"); ca && !ca->empty()) c.client_ca = resolve(base, *ca);
    if (auto crl = string_key(tls, "tls", "crl"); crl && !crl->empty()) c.crl = resolve(base, *crl);
  }
  return c;
}

AdminConfig load_admin_config(const fs::path& given) {
  const fs::path file = fs::absolute(given).lexically_normal();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string() + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return parse_admin_config(ss.str(), file);
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    if (m.rfind(file.string(), 0) == 0) throw;
    throw ConfigError(file.string() + ": " + m);
  }
}

}  // namespace sekds::admin
