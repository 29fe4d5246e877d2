#include "gp/key_component.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "gp/error.h"

namespace sekds::gp {

namespace {

[[noreturn]] void invalid(const std::string& msg) { throw GpError(Errc::InvalidArgument, msg); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

const char* role_suffix(KeyRole r) noexcept {
  switch (r) {
    case KeyRole::Enc: return "enc";
    case KeyRole::Mac: return "mac";
    case KeyRole::Dek: return "dek";
  }
  return "?";
}

std::string share_field(std::string_view base, std::optional<KeyRole> role) {
  std::string f(base);
  if (role) f += std::string(".") + role_suffix(*role);
  return f;
}

std::string share_name(std::optional<KeyRole> role) {
  return role ? std::string("component (") + key_role_name(*role) + ")" : std::string("component");
}

// A name as used in HSM labels and the store: 1..64 of [A-Za-z0-9._-] (no '/', no spaces).
bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<KcvAlg> parse_kcv_alg(std::string_view s) {
  for (KcvAlg a : {KcvAlg::Des3Zero, KcvAlg::AesGp, KcvAlg::AesCmac})
    if (s == kcv_alg_name(a)) return a;
  return std::nullopt;
}

const char* kcv_alg_explained(KcvAlg a) noexcept {
  switch (a) {
    case KcvAlg::Des3Zero: return "first bytes of 3DES-ECB(key, 8 x 00)";
    case KcvAlg::AesGp: return "first bytes of AES-ECB(key, 16 x 01), GlobalPlatform";
    case KcvAlg::AesCmac: return "first bytes of AES-CMAC(key, 16 x 00)";
  }
  return "?";
}

void check_kcv_length(const std::string& what, const Bytes& kcv) {
  if (kcv.size() < 3 || kcv.size() > 16)
    throw GpError(Errc::InvalidLength, what + ": a KCV is 3..16 bytes, got " + std::to_string(kcv.size()));
}

// Everything format and parse agree on, checked in one place.
void check_consistent(const ComponentSheet& c) {
  if (c.purpose == ComponentPurpose::Kek) {
    if (!valid_name(c.tsm)) invalid("tsm: '" + c.tsm + "' is not 1..64 characters of A-Z a-z 0-9 . _ -");
    if (!c.kek_index) invalid("kek-index: missing (required for purpose kek)");
    if (!is_aes(c.key_type))
      invalid(std::string("key-type: a KEK is AES128, AES192 or AES256, not ") + key_type_name(c.key_type));
    if (c.per_role()) invalid("a KEK sheet holds one key, not per-role components");
  } else {
    if (!valid_name(c.issuer)) invalid("issuer: '" + c.issuer + "' is not 1..64 characters of A-Z a-z 0-9 . _ -");
    if (!c.kvn) invalid("kvn: missing (required for purpose master-key)");
    if (*c.kvn < 1 || *c.kvn > 255) invalid("kvn: must be 1..255, got " + std::to_string(*c.kvn));
  }
  if (c.custodians < 2 || c.custodians > 3)
    invalid("custodian: a key is split between 2 or 3 custodians, not " + std::to_string(c.custodians));
  if (c.custodian < 1 || c.custodian > c.custodians)
    invalid("custodian: " + std::to_string(c.custodian) + " is not in 1.." + std::to_string(c.custodians));
  const bool des = !is_aes(c.key_type);
  if (des != (c.kcv_alg == KcvAlg::Des3Zero))
    invalid(std::string("kcv-convention: ") + kcv_alg_name(c.kcv_alg) + " does not fit " + key_type_name(c.key_type) +
            " keys");
  if (c.shares.size() != 1 && c.shares.size() != 3)
    invalid("a sheet holds one component, or three (ENC, MAC, DEK); got " + std::to_string(c.shares.size()));
  for (std::size_t i = 0; i < c.shares.size(); ++i) {
    const ComponentShare& s = c.shares[i];
    const std::optional<KeyRole> want =
        c.shares.size() == 1 ? std::nullopt : std::optional<KeyRole>(kKeyRoles[i]);
    if (s.role != want) invalid("shares must be one without a role, or ENC, MAC, DEK in that order");
    const std::string name = share_name(s.role);
    if (s.value.size() != key_length(c.key_type))
      throw GpError(Errc::InvalidLength, name + ": " + std::to_string(s.value.size()) + " bytes, " +
                                             key_type_name(c.key_type) + " needs " +
                                             std::to_string(key_length(c.key_type)));
    check_kcv_length(name + " KCV", s.kcv);
    if (s.combined_kcv) check_kcv_length(name + " combined KCV", *s.combined_kcv);
  }
}

void append(SecureText& out, std::string_view s) { out.insert(out.end(), s.begin(), s.end()); }

// Hex in groups of two bytes, so a custodian can read it out and type it back.
void append_grouped_hex(SecureText& out, ByteView v) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i > 0 && i % 2 == 0) out.push_back(' ');
    out.push_back(kDigits[v[i] >> 4]);
    out.push_back(kDigits[v[i] & 0x0F]);
  }
}

}  // namespace

const char* component_purpose_name(ComponentPurpose p) noexcept {
  return p == ComponentPurpose::Kek ? "kek" : "master-key";
}

const ComponentShare* ComponentSheet::share(std::optional<KeyRole> role) const noexcept {
  for (const auto& s : shares)
    if (s.role == role) return &s;
  return nullptr;
}

SecureText format_key_component(const ComponentSheet& c) {
  check_consistent(c);
  SecureText out;
  out.reserve(1024);
  for (const auto& line : c.comments) {
    if (line.find('\n') != std::string::npos || line.find('\r') != std::string::npos)
      invalid("a comment line must not contain a line break");
    append(out, "# ");
    append(out, line);
    append(out, "\n");
  }
  append(out, "# KCV convention ");
  append(out, kcv_alg_name(c.kcv_alg));
  append(out, ": ");
  append(out, kcv_alg_explained(c.kcv_alg));
  append(out, ".\n");
  append(out, "format: ");
  append(out, kKeyComponentFormat);
  append(out, "\npurpose: ");
  append(out, component_purpose_name(c.purpose));
  append(out, "\n");
  if (c.purpose == ComponentPurpose::Kek) {
    append(out, "tsm: " + c.tsm + "\n");
    append(out, "kek-index: " + std::to_string(*c.kek_index) + "\n");
  } else {
    append(out, "issuer: " + c.issuer + "\n");
    append(out, "kvn: " + std::to_string(*c.kvn) + "\n");
  }
  append(out, std::string("key-type: ") + key_type_name(c.key_type) + "\n");
  append(out, "custodian: " + std::to_string(c.custodian) + " of " + std::to_string(c.custodians) + "\n");
  append(out, std::string("kcv-convention: ") + kcv_alg_name(c.kcv_alg) + "\n");
  for (const auto& s : c.shares) {
    append(out, share_field("component", s.role) + ": ");
    append_grouped_hex(out, view(s.value));
    append(out, "\n" + share_field("component-kcv", s.role) + ": " + to_hex(s.kcv) + "\n");
    if (s.combined_kcv) append(out, share_field("combined-kcv", s.role) + ": " + to_hex(*s.combined_kcv) + "\n");
  }
  return out;
}

ComponentSheet parse_key_component(std::string_view text) {
  // field -> (line number, value); values are views into `text` (no copies of key material).
  std::map<std::string, std::pair<std::size_t, std::string_view>, std::less<>> fields;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      invalid("line " + std::to_string(line_no) + ": expected 'field: value'");
    std::string key(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    if (fields.count(key)) invalid("line " + std::to_string(line_no) + ": field '" + key + "' repeated");
    fields.emplace(key, std::make_pair(line_no, value));
  }

  std::map<std::string, bool, std::less<>> used;
  auto get = [&](const std::string& key) -> std::optional<std::pair<std::size_t, std::string_view>> {
    auto it = fields.find(key);
    if (it == fields.end()) return std::nullopt;
    used[key] = true;
    return it->second;
  };
  auto where = [](const std::string& key, std::size_t line) { return "line " + std::to_string(line) + ": " + key; };
  auto require = [&](const std::string& key) {
    auto v = get(key);
    if (!v) invalid(key + ": missing");
    return *v;
  };

  auto [fline, fval] = require("format");
  if (fval != kKeyComponentFormat)
    invalid(where("format", fline) + ": '" + std::string(fval) + "' is not " + std::string(kKeyComponentFormat));

  ComponentSheet c;
  auto [pline, pval] = require("purpose");
  if (pval == "kek") {
    c.purpose = ComponentPurpose::Kek;
  } else if (pval == "master-key") {
    c.purpose = ComponentPurpose::MasterKey;
  } else {
    invalid(where("purpose", pline) + ": '" + std::string(pval) + "' is not kek or master-key");
  }
  if (c.purpose == ComponentPurpose::Kek) {
    auto [l1, tsm] = require("tsm");
    c.tsm = std::string(tsm);
    if (!valid_name(c.tsm)) invalid(where("tsm", l1) + ": '" + c.tsm + "' is not a valid TSM name");
    auto [l2, idx] = require("kek-index");
    auto v = parse_decimal(idx);
    if (!v || *v > 0xFFFFFFFFu) invalid(where("kek-index", l2) + ": '" + std::string(idx) + "' is not 0..4294967295");
    c.kek_index = static_cast<std::uint32_t>(*v);
  } else {
    auto [l1, issuer] = require("issuer");
    c.issuer = std::string(issuer);
    if (!valid_name(c.issuer)) invalid(where("issuer", l1) + ": '" + c.issuer + "' is not a valid issuer name");
    auto [l2, kvn] = require("kvn");
    auto v = parse_decimal(kvn);
    if (!v || *v < 1 || *v > 255) invalid(where("kvn", l2) + ": '" + std::string(kvn) + "' is not 1..255");
    c.kvn = static_cast<unsigned>(*v);
  }

  auto [tline, tval] = require("key-type");
  auto type = parse_key_type(tval);
  if (!type) invalid(where("key-type", tline) + ": '" + std::string(tval) + "' is not DES2, DES3, AES128, AES192 or AES256");
  c.key_type = *type;

  auto [cline, cval] = require("custodian");
  {
    const std::size_t of = cval.find(" of ");
    std::optional<std::uint64_t> n, total;
    if (of != std::string_view::npos) {
      n = parse_decimal(trim(cval.substr(0, of)));
      total = parse_decimal(trim(cval.substr(of + 4)));
    }
    if (!n || !total) invalid(where("custodian", cline) + ": expected 'N of M', got '" + std::string(cval) + "'");
    if (*total < 2 || *total > 3 || *n < 1 || *n > *total)
      invalid(where("custodian", cline) + ": '" + std::string(cval) + "' (2 or 3 custodians, N in 1..M)");
    c.custodian = static_cast<unsigned>(*n);
    c.custodians = static_cast<unsigned>(*total);
  }

  auto [kline, kval] = require("kcv-convention");
  auto alg = parse_kcv_alg(kval);
  if (!alg)
    invalid(where("kcv-convention", kline) + ": '" + std::string(kval) +
            "' is not DES3-ECB-ZERO, AES-ECB-01 or AES-CMAC-ZERO");
  c.kcv_alg = *alg;

  const bool single = fields.count("component") > 0;
  const bool any_role = fields.count("component.enc") || fields.count("component.mac") || fields.count("component.dek");
  if (single && any_role) invalid("component: give one component, or component.enc/.mac/.dek, not both");
  std::vector<std::optional<KeyRole>> roles;
  if (any_role) {
    roles.assign(kKeyRoles.begin(), kKeyRoles.end());
  } else {
    roles.push_back(std::nullopt);
  }
  for (const auto& role : roles) {
    ComponentShare s;
    s.role = role;
    const std::string vf = share_field("component", role);
    auto [vline, vval] = require(vf);
    s.value = secure_from_hex(vval, where(vf, vline));
    const std::string kf = share_field("component-kcv", role);
    auto [kl, kv] = require(kf);
    s.kcv = from_hex(kv, where(kf, kl));
    const std::string cf = share_field("combined-kcv", role);
    if (auto cv = get(cf)) s.combined_kcv = from_hex(cv->second, where(cf, cv->first));
    c.shares.push_back(std::move(s));
  }

  for (const auto& [key, v] : fields)
    if (!used.count(key)) invalid(where(key, v.first) + ": unknown field");
  check_consistent(c);
  return c;
}

void check_component_kcvs(const ComponentSheet& c) {
  for (const auto& s : c.shares) {
    const Bytes k = kcv(c.kcv_alg, view(s.value), s.kcv.size());
    if (!equal_ct(k, s.kcv))
      throw GpError(Errc::KcvMismatch, share_name(s.role) + ": KCV (" + kcv_alg_name(c.kcv_alg) + ") is " + to_hex(k) +
                                           ", the sheet says " + to_hex(s.kcv));
  }
}

SecureBytes xor_shares(const std::vector<const ComponentShare*>& shares) {
  if (shares.empty()) invalid("no components to combine");
  SecureBytes out = shares.front()->value;
  for (std::size_t i = 1; i < shares.size(); ++i) {
    if (shares[i]->value.size() != out.size())
      throw GpError(Errc::InvalidLength, "components differ in length (" + std::to_string(out.size()) + " and " +
                                             std::to_string(shares[i]->value.size()) + " bytes)");
    xor_into(out, view(shares[i]->value));
  }
  return out;
}

}  // namespace sekds::gp
