// sekds-tsm configuration: a TOML file given with --config FILE or $SEKDS_TSM_CONFIG.
// Relative paths are resolved against the file's directory. Unknown keys are errors.
//
//   kek_index = 1                  # KEK index asked of the TTP (default 1)
//   level = "cmac+cdec"            # default security level (cmac, cmac+cdec, ..., or hex "03")
//   retries = 2                    # extra SOAP attempts after a transport error (same RequestId)
//   connect_timeout = 10           # seconds
//   recv_timeout = 30              # seconds
//
//   [[ttp]]                        # one per TTP; the card's URL picks the most specific url_prefix:
//   url_prefix = "https://localhost:8443/"  # same scheme, host, port; longest path on a '/' boundary
//   certificate = "tsm1.crt"       # client certificate (PEM)
//   private_key = "tsm1.key"       # its key (PEM)
//   ca = "ca.crt"                  # CA the TTP's certificate must chain to
//   # endpoint = "https://..."     # call this URL instead of the card's
//   # kek_index = 2                # this TTP's KEK index
//
//   [kek_token]                    # the TSM's own PKCS#11 token holding its KEKs
//   module = "/usr/lib/softhsm/libsofthsm2.so"
//   token = "tsm"                  # label or pkcs11: URI
//   pin = "file:user.pin"          # or "env:NAME"; never the PIN itself
//   # state_file = "kek-state.json"  # KCVs recorded at import (default: beside this file)
//
//   [[own_keys]]                   # the TSM's key sets (rotation target), one per protocol
//   scp = 3                        # 2 or 3
//   kvn = 0x40                     # 1..127 (TOML hex integers are fine)
//   method = "kdf3"                # none | visa2 | emv | kdf3 | scp03kdf
//   master_key_file = "own-aes.key"  # one line of hex, mode 0600
//   key_type = "AES128"            # DES2 | AES128 | AES192 | AES256 (default: from method and master)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gp/diversification.h"
#include "gp/key_type.h"
#include "gp/scp_common.h"
#include "tsm/ttp_key_source.h"

namespace sekds::tsm {

class LocalKeySource;

struct KekTokenConfig {
  std::string module;
  std::string token;
  std::string pin;  // PIN source spec ("file:/abs/path" once resolved, or "env:NAME")
  std::filesystem::path state_file;
};

struct OwnKeySpec {
  std::optional<gp::Scp> scp;
  std::uint8_t kvn = 0x40;
  gp::DiversificationScheme scheme;
  std::optional<gp::KeyType> key_type;
  std::filesystem::path master_key_file;
};

struct TsmConfig {
  std::filesystem::path source;
  TtpSettings ttp;
  std::optional<KekTokenConfig> kek_token;
  std::vector<OwnKeySpec> own_keys;
  std::uint8_t level = 0x03;
};

// Throws TsmError(Config) "FILE: key: what is wrong".
TsmConfig parse_config(std::string_view toml_text, const std::filesystem::path& source);
TsmConfig load_config(const std::filesystem::path& file);
// --config, else $SEKDS_TSM_CONFIG; nullopt if neither.
std::optional<std::filesystem::path> config_path(const std::string& cli_value);
// Requires a configuration (TsmError(Config) saying how to give one).
TsmConfig require_config(const std::string& cli_value);

// Checks the files the [[ttp]] entries name before any connection: present, readable, and the
// private keys not accessible by other users (refused, as sekds-server does; group access is
// left to the deployment). Throws TsmError(Config) naming the key and the file.
void check_ttp_files(const TsmConfig& config);

// Reads the master key files and checks every [[own_keys]] entry. Throws TsmError(Config).
LocalKeySource make_local_key_source(const TsmConfig& config);

}  // namespace sekds::tsm
