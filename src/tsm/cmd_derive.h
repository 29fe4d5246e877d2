// `sekds-tsm derive`: the lab utility that diversifies a master key with a KDD in software
// and prints the card's ENC, MAC and DEK with their KCVs (GlobalPlatformPro-style). It is
// the one sekds command that prints plaintext keys: lab material, never production keys.
#pragma once

#include <array>
#include <iosfwd>
#include <optional>
#include <string>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"

namespace CLI {
class App;
}

namespace sekds::tsm {

// The command line as typed (strings, checked by run_derive).
struct DeriveOptions {
  std::string method;
  std::string master;  // hex, or "-" to read one line of hex from stdin (keeps it out of ps)
  std::string kdd;     // hex
  std::optional<std::string> layout;     // kdf3 / scp03kdf only
  std::optional<std::string> constants;  // kdf3 / scp03kdf only
  std::optional<std::string> key_type;   // DES2 | DES3 | AES128 | AES192 | AES256
  bool json = false;
};

struct DeriveResult {
  gp::DiversificationScheme scheme;
  gp::KeyType key_type = gp::KeyType::Des2;
  gp::KcvAlg kcv_alg = gp::KcvAlg::Des3Zero;
  gp::StaticKeys keys;
  std::array<gp::Bytes, 3> kcv;  // ENC, MAC, DEK
};

// Checks every option and derives. Bad input throws CLI::ValidationError whose message
// names the option: "--kdd: must be 10 bytes, got 9".
DeriveResult run_derive(const DeriveOptions& opt);

// `--json`: one object {"method","key_type","kcv_alg","enc","mac","dek","kcv":{...}}
// (+ "layout", "constants" for kdf3 / scp03kdf), hex uppercase, one line.
void print_derive_json(const DeriveResult& r, std::ostream& out);
void print_derive_text(const DeriveResult& r, std::ostream& out);

// Adds the `derive` subcommand to the program.
void register_derive(CLI::App& app);

}  // namespace sekds::tsm
