#include "tsm/cmd_derive.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "gp/error.h"

namespace sekds::tsm {

namespace {

[[noreturn]] void bad(const std::string& option, const std::string& msg) { throw CLI::ValidationError(option + ": " + msg); }

// Hex of an option. For a secret, the message never repeats the offending character.
template <class Out>
Out parse_hex(const std::string& option, std::string_view text, bool secret) {
  try {
    if constexpr (std::is_same_v<Out, gp::SecureBytes>) {
      return gp::secure_from_hex(text, option);
    } else {
      return gp::from_hex(text, option);
    }
  } catch (const gp::GpError& e) {
    if (!secret) throw CLI::ValidationError(e.what());
    if (std::string_view(e.what()).find("odd number") != std::string_view::npos) bad(option, "odd number of hex digits");
    bad(option, "not hex (a non-hex character at offset " + std::to_string(e.offset().value_or(0)) + ")");
  }
}

std::string trim(std::string s) {
  const auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
  s.erase(s.begin(), std::find_if_not(s.begin(), s.end(), sp));
  s.erase(std::find_if_not(s.rbegin(), s.rend(), sp).base(), s.end());
  return s;
}

gp::SecureBytes read_master(const std::string& text) {
  if (text != "-") return parse_hex<gp::SecureBytes>("--master", text, true);
  std::string line;
  std::getline(std::cin, line);
  std::string hex = trim(line);
  gp::secure_wipe(line.data(), line.size());
  if (hex.empty()) {
    bad("--master", "'-' given but stdin has no hex line");
  }
  gp::SecureBytes key;
  try {
    key = parse_hex<gp::SecureBytes>("--master", hex, true);
  } catch (...) {
    gp::secure_wipe(hex.data(), hex.size());
    throw;
  }
  gp::secure_wipe(hex.data(), hex.size());
  return key;
}

gp::KeyType resolve_key_type(const DeriveOptions& opt, gp::DiversificationMethod m, std::size_t master_len) {
  std::optional<gp::KeyType> asked;
  if (opt.key_type) {
    std::string up = *opt.key_type;
    std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return std::toupper(c); });
    asked = gp::parse_key_type(up);
    if (!asked) bad("--key-type", "unknown key type '" + *opt.key_type + "' (expected DES2, DES3, AES128, AES192 or AES256)");
  }
  gp::KeyType derived;
  if (gp::method_is_des(m)) {
    derived = gp::KeyType::Des2;
  } else if (m == gp::DiversificationMethod::None) {
    if (asked) {
      if (gp::key_length(*asked) != master_len)
        bad("--key-type", std::string(gp::key_type_name(*asked)) + " keys are " + std::to_string(gp::key_length(*asked)) +
                              " bytes, the master is " + std::to_string(master_len));
      return *asked;
    }
    // Lab default: 16 and 24 bytes read as 3DES (GP's SCP02 default keys), 32 as AES-256.
    derived = master_len == 16 ? gp::KeyType::Des2 : master_len == 24 ? gp::KeyType::Des3 : gp::KeyType::Aes256;
  } else {
    derived = *gp::aes_type_for_length(master_len);
  }
  if (asked && *asked != derived)
    bad("--key-type", std::string(gp::method_name(m)) + " with a " + std::to_string(master_len) + "-byte master derives " +
                          gp::key_type_name(derived) + " keys, not " + gp::key_type_name(*asked));
  return derived;
}

const char* kcv_description(gp::KcvAlg a) {
  switch (a) {
    case gp::KcvAlg::Des3Zero: return "3DES-ECB of 8 zero bytes";
    case gp::KcvAlg::AesGp: return "AES-ECB of 16 bytes 01";
    case gp::KcvAlg::AesCmac: return "AES-CMAC of 16 zero bytes";
  }
  return "?";
}

bool has_layout(gp::DiversificationMethod m) {
  return m == gp::DiversificationMethod::Kdf3 || m == gp::DiversificationMethod::Scp03Kdf;
}

}  // namespace

DeriveResult run_derive(const DeriveOptions& opt) {
  const auto method = gp::parse_method(opt.method);
  if (!method) bad("--method", "unknown method '" + opt.method + "' (expected none, visa2, emv, kdf3 or scp03kdf)");
  const gp::SecureBytes master = read_master(opt.master);
  const std::size_t n = master.size();
  if (gp::method_is_des(*method) && n != 16)
    bad("--master", std::string(gp::method_name(*method)) + " needs a 16-byte (2-key 3DES) master key, got " + std::to_string(n) +
                        " bytes");
  if (!gp::method_is_des(*method) && n != 16 && n != 24 && n != 32)
    bad("--master", std::string(gp::method_name(*method)) + " needs a 16, 24 or 32-byte master key, got " + std::to_string(n) +
                        " bytes");
  const gp::Bytes kdd = parse_hex<gp::Bytes>("--kdd", opt.kdd, false);
  if (kdd.size() != gp::kKddLength) bad("--kdd", "must be 10 bytes, got " + std::to_string(kdd.size()));

  DeriveResult r;
  r.scheme = gp::DiversificationScheme::of(*method);
  if (!has_layout(*method)) {
    if (opt.layout) bad("--layout", "only kdf3 and scp03kdf take a layout");
    if (opt.constants) bad("--constants", "only kdf3 and scp03kdf take derivation constants");
  } else {
    const std::string spec = opt.layout ? *opt.layout : r.scheme.layout.spec();
    try {
      gp::KdfLayout::parse(spec);
    } catch (const gp::GpError& e) {
      bad("--layout", e.what());
    }
    try {
      r.scheme.layout = gp::KdfLayout::parse(spec, opt.constants ? *opt.constants : r.scheme.layout.constants_spec());
    } catch (const gp::GpError& e) {
      bad("--constants", e.what());
    }
  }
  r.key_type = resolve_key_type(opt, *method, n);
  r.kcv_alg = gp::gp_kcv_alg(r.key_type);
  r.keys = gp::diversify(r.scheme, master, kdd);
  for (auto role : gp::kKeyRoles)
    r.kcv[static_cast<std::size_t>(role) - 1] = gp::kcv(r.kcv_alg, gp::view(r.keys.of(role)));
  return r;
}

void print_derive_json(const DeriveResult& r, std::ostream& out) {
  nlohmann::ordered_json j;
  j["method"] = gp::method_name(r.scheme.method);
  j["key_type"] = gp::key_type_name(r.key_type);
  j["kcv_alg"] = gp::kcv_alg_name(r.kcv_alg);
  if (has_layout(r.scheme.method)) {
    j["layout"] = r.scheme.layout.spec();
    j["constants"] = r.scheme.layout.constants_spec();
  }
  nlohmann::ordered_json kcv;
  for (auto role : gp::kKeyRoles) {
    std::string name = gp::key_role_name(role);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    j[name] = gp::to_hex(gp::view(r.keys.of(role)));
    kcv[name] = gp::to_hex(r.kcv[static_cast<std::size_t>(role) - 1]);
  }
  j["kcv"] = kcv;
  std::string s = j.dump();
  out << s << '\n';
  gp::secure_wipe(s.data(), s.size());
}

void print_derive_text(const DeriveResult& r, std::ostream& out) {
  out << "LAB MATERIAL: plaintext card keys from sekds-tsm derive; never use production master keys here\n";
  out << "method    " << gp::method_name(r.scheme.method);
  if (has_layout(r.scheme.method))
    out << " (layout " << r.scheme.layout.spec() << ", constants " << r.scheme.layout.constants_spec() << ")";
  out << "\nkey type  " << gp::key_type_name(r.key_type) << "\nKCV       " << gp::kcv_alg_name(r.kcv_alg) << ": "
      << kcv_description(r.kcv_alg) << ", first 3 bytes\n";
  for (auto role : gp::kKeyRoles) {
    std::string hex = gp::to_hex(gp::view(r.keys.of(role)));
    out << gp::key_role_name(role) << "       " << hex << "  KCV " << gp::to_hex(r.kcv[static_cast<std::size_t>(role) - 1])
        << '\n';
    gp::secure_wipe(hex.data(), hex.size());
  }
}

void register_derive(CLI::App& app) {
  struct Bound {
    DeriveOptions opt;
    std::string layout, constants, key_type;
    CLI::Option *layout_opt = nullptr, *constants_opt = nullptr, *key_type_opt = nullptr;
  };
  auto b = std::make_shared<Bound>();
  CLI::App* sub = app.add_subcommand(
      "derive",
      "Derive a card's static keys (ENC, MAC, DEK) from a master key and its KDD in software and print them with their "
      "KCVs.\nLAB UTILITY: this is the one sekds command that prints plaintext keys (like GlobalPlatformPro); use it with "
      "test keys only, never with production master keys.");
  sub->add_option("--method", b->opt.method, "none | visa2 | emv | kdf3 | scp03kdf")->required();
  sub->add_option("--master", b->opt.master,
                  "master key in hex: 16 bytes for visa2/emv, 16/24/32 for kdf3/scp03kdf/none; '-' reads it from stdin")
      ->required();
  sub->add_option("--kdd", b->opt.kdd, "key diversification data (GET DATA 'CF'), 10 bytes in hex")->required();
  b->layout_opt = sub->add_option("--layout", b->layout,
                                  "kdf3/scp03kdf PRF input, parts joined by '|': i (counter), k (constant), L (length in bits), "
                                  "kdd, or hex bytes; default kdf3 i|000000|k|00|kdd, scp03kdf 0000000000000000000000|k|00|L|i|kdd");
  b->constants_opt = sub->add_option("--constants", b->constants, "kdf3/scp03kdf constants of ENC,MAC,DEK (default 01,02,03)");
  b->key_type_opt = sub->add_option("--key-type", b->key_type,
                                    "DES2|DES3|AES128|AES192|AES256; only needed with --method none, where 16 and 24-byte keys "
                                    "default to DES2/DES3 and 32-byte keys to AES256");
  sub->add_flag("--json", b->opt.json, "print one JSON object (method, key_type, kcv_alg, enc, mac, dek, kcv)");
  sub->footer(
      "KCVs: DES keys 3DES-ECB of 8 zero bytes, AES keys AES-ECB of 16 bytes 01 (GlobalPlatform), first 3 bytes.\n"
      "DES keys are printed as derived, parity bits not adjusted (an HSM sets them; KCVs are the same).");
  sub->callback([b] {
    DeriveOptions opt = b->opt;
    if (b->layout_opt->count() > 0) opt.layout = b->layout;
    if (b->constants_opt->count() > 0) opt.constants = b->constants;
    if (b->key_type_opt->count() > 0) opt.key_type = b->key_type;
    const DeriveResult r = run_derive(opt);
    if (opt.json)
      print_derive_json(r, std::cout);
    else
      print_derive_text(r, std::cout);
    std::cout.flush();
  });
}

}  // namespace sekds::tsm
