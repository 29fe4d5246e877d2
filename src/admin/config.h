// What sekds-admin reads from the server's configuration file (the SAME TOML file sekds-server
// reads; deploy/sekds-server.example.toml documents it). Only these keys are read here; the
// server checks the whole file:
//
//   [store] path     the SQLite database
//   [hsm]   module   PKCS#11 module; token: label or pkcs11: URI; pin: "file:PATH" | "env:NAME"
//           so_pin   optional, admin only: the SO PIN source for KEK ceremonies (same forms)
//   [tls]   client_ca  the CA bundle TSM client certificates must chain to (accreditation)
//           crl        optional CRL of that CA (a revoked certificate is not accredited)
//
// Relative paths are resolved against the directory of the file, as the server does.
//
// Why not link the server's loader (src/service/config.h): it lives in sekds_service, which
// pulls in gSOAP; the admin must not. The keys and the resolution rule are the same.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sekds::admin {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct AdminConfig {
  std::filesystem::path source;  // the file it came from

  std::optional<std::filesystem::path> store_path;  // [store] path

  struct Hsm {
    std::string module;  // resolved path
    std::string token;
    std::string pin;                     // "file:/abs" or "env:NAME"
    std::optional<std::string> so_pin;   // same forms
  };
  std::optional<Hsm> hsm;  // [hsm]

  std::optional<std::filesystem::path> client_ca;  // [tls] client_ca
  std::optional<std::filesystem::path> crl;        // [tls] crl
};

// Parses the text of a configuration file. Throws ConfigError naming the key ("hsm.pin: ...").
AdminConfig parse_admin_config(std::string_view toml_text, const std::filesystem::path& source);
// Reads and parses `file`. Throws ConfigError.
AdminConfig load_admin_config(const std::filesystem::path& file);

// A PIN source as written in a configuration or on the command line: "file:PATH" (a relative
// PATH resolved against `base`) or "env:NAME". Never a PIN itself. Throws ConfigError naming `key`.
std::string normalise_pin_source(std::string_view key, std::string_view value, const std::filesystem::path& base);

}  // namespace sekds::admin
