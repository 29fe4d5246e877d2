#include "gp/diversification.h"

#include <algorithm>
#include <cctype>

#include "gp/crypto.h"
#include "gp/error.h"

namespace sekds::gp {

const char* key_role_name(KeyRole r) noexcept {
  switch (r) {
    case KeyRole::Enc: return "ENC";
    case KeyRole::Mac: return "MAC";
    case KeyRole::Dek: return "DEK";
  }
  return "?";
}

const char* method_name(DiversificationMethod m) noexcept {
  switch (m) {
    case DiversificationMethod::None: return "none";
    case DiversificationMethod::Visa2: return "visa2";
    case DiversificationMethod::Emv: return "emv";
    case DiversificationMethod::Kdf3: return "kdf3";
    case DiversificationMethod::Scp03Kdf: return "scp03kdf";
  }
  return "?";
}

std::optional<DiversificationMethod> parse_method(std::string_view s) noexcept {
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (auto m : {DiversificationMethod::None, DiversificationMethod::Visa2, DiversificationMethod::Emv,
                 DiversificationMethod::Kdf3, DiversificationMethod::Scp03Kdf})
    if (lower == method_name(m)) return m;
  return std::nullopt;
}

bool method_is_des(DiversificationMethod m) noexcept {
  return m == DiversificationMethod::Visa2 || m == DiversificationMethod::Emv;
}

KdfLayout KdfLayout::kdf3() { return parse("i|000000|k|00|kdd"); }
KdfLayout KdfLayout::scp03_standard() { return parse("0000000000000000000000|k|00|L|i|kdd"); }

KdfLayout KdfLayout::parse(std::string_view spec, std::string_view constants) {
  KdfLayout l;
  std::size_t pos = 0;
  bool has_counter = false, has_constant = false, has_kdd = false;
  while (pos <= spec.size()) {
    std::size_t bar = spec.find('|', pos);
    if (bar == std::string_view::npos) bar = spec.size();
    std::string_view tok = spec.substr(pos, bar - pos);
    if (tok == "i") {
      l.parts.push_back({Field::Counter, {}});
      has_counter = true;
    } else if (tok == "k") {
      l.parts.push_back({Field::Constant, {}});
      has_constant = true;
    } else if (tok == "L") {
      l.parts.push_back({Field::LengthBits, {}});
    } else if (tok == "kdd") {
      l.parts.push_back({Field::Kdd, {}});
      has_kdd = true;
    } else if (!tok.empty()) {
      Bytes lit;
      try {
        lit = from_hex(tok, "KDF layout literal");
      } catch (const GpError&) {
        throw GpError(Errc::InvalidArgument, "KDF layout: unknown part '" + std::string(tok) +
                                                 "' (expected i, k, L, kdd or hex bytes)");
      }
      if (lit.empty()) throw GpError(Errc::InvalidArgument, "KDF layout: empty literal");
      l.parts.push_back({Field::Literal, std::move(lit)});
    } else {
      throw GpError(Errc::InvalidArgument, "KDF layout: empty part in '" + std::string(spec) + "'");
    }
    pos = bar + 1;
  }
  if (!has_counter || !has_constant || !has_kdd)
    throw GpError(Errc::InvalidArgument, "KDF layout '" + std::string(spec) + "' must contain i, k and kdd");
  Bytes c;
  std::string cs(constants);
  std::replace(cs.begin(), cs.end(), ',', ' ');
  try {
    c = from_hex(cs, "KDF constants");
  } catch (const GpError&) {
    throw GpError(Errc::InvalidArgument, "KDF constants '" + std::string(constants) + "' must be three hex bytes like 01,02,03");
  }
  if (c.size() != 3)
    throw GpError(Errc::InvalidArgument, "KDF constants '" + std::string(constants) + "' must be three hex bytes like 01,02,03");
  std::copy(c.begin(), c.end(), l.constants.begin());
  return l;
}

std::string KdfLayout::spec() const {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += '|';
    switch (p.field) {
      case Field::Counter: out += "i"; break;
      case Field::Constant: out += "k"; break;
      case Field::LengthBits: out += "L"; break;
      case Field::Kdd: out += "kdd"; break;
      case Field::Literal: out += to_hex(p.literal); break;
    }
  }
  return out;
}

std::string KdfLayout::constants_spec() const {
  return to_hex(ByteView(&constants[0], 1)) + "," + to_hex(ByteView(&constants[1], 1)) + "," +
         to_hex(ByteView(&constants[2], 1));
}

Bytes KdfLayout::input(ByteView kdd, KeyRole role, std::uint8_t counter, std::uint16_t out_bits) const {
  Bytes out;
  out.reserve(input_length());
  for (const auto& p : parts) {
    switch (p.field) {
      case Field::Counter: out.push_back(counter); break;
      case Field::Constant: out.push_back(constants[static_cast<std::size_t>(role) - 1]); break;
      case Field::LengthBits: put_u16(out, out_bits); break;
      case Field::Kdd: out.insert(out.end(), kdd.begin(), kdd.end()); break;
      case Field::Literal: out.insert(out.end(), p.literal.begin(), p.literal.end()); break;
    }
  }
  return out;
}

std::size_t KdfLayout::input_length() const noexcept {
  std::size_t n = 0;
  for (const auto& p : parts) {
    switch (p.field) {
      case Field::Counter:
      case Field::Constant: n += 1; break;
      case Field::LengthBits: n += 2; break;
      case Field::Kdd: n += kKddLength; break;
      case Field::Literal: n += p.literal.size(); break;
    }
  }
  return n;
}

DiversificationScheme DiversificationScheme::of(DiversificationMethod m) {
  DiversificationScheme s;
  s.method = m;
  if (m == DiversificationMethod::Kdf3) s.layout = KdfLayout::kdf3();
  if (m == DiversificationMethod::Scp03Kdf) s.layout = KdfLayout::scp03_standard();
  return s;
}

namespace {
void check_kdd(ByteView kdd) {
  if (kdd.size() != kKddLength)
    throw GpError(Errc::InvalidLength, "KDD must be 10 bytes, got " + std::to_string(kdd.size()));
}
}  // namespace

Bytes des_derivation_data(DiversificationMethod m, ByteView kdd, KeyRole role) {
  check_kdd(kdd);
  const auto k = static_cast<std::uint8_t>(role);
  Bytes d(16);
  if (m == DiversificationMethod::Visa2) {
    // KDD bytes 0-1 and 4-7 (the CSN part), then F0/0F with the key id.
    for (int half = 0; half < 2; ++half) {
      std::uint8_t* p = d.data() + 8 * half;
      p[0] = kdd[0];
      p[1] = kdd[1];
      std::copy(kdd.begin() + 4, kdd.begin() + 8, p + 2);
      p[6] = half == 0 ? 0xF0 : 0x0F;
      p[7] = k;
    }
  } else if (m == DiversificationMethod::Emv) {
    // EMV CPS 1.1: the last 6 KDD bytes, then F0/0F with the key id.
    for (int half = 0; half < 2; ++half) {
      std::uint8_t* p = d.data() + 8 * half;
      std::copy(kdd.begin() + 4, kdd.end(), p);
      p[6] = half == 0 ? 0xF0 : 0x0F;
      p[7] = k;
    }
  } else {
    throw GpError(Errc::InvalidArgument, std::string("method ") + method_name(m) + " has no DES derivation data");
  }
  return d;
}

SecureBytes diversify_key(const DiversificationScheme& s, ByteView master, ByteView kdd, KeyRole role) {
  check_kdd(kdd);
  switch (s.method) {
    case DiversificationMethod::None:
      if (master.size() != 16 && master.size() != 24 && master.size() != 32)
        throw GpError(Errc::InvalidLength, "master key must be 16, 24 or 32 bytes, got " + std::to_string(master.size()));
      return to_secure(master);
    case DiversificationMethod::Visa2:
    case DiversificationMethod::Emv:
      if (master.size() != 16)
        throw GpError(Errc::InvalidLength, std::string(method_name(s.method)) +
                                               " needs a 16-byte (2-key 3DES) master key, got " +
                                               std::to_string(master.size()) + " bytes");
      return ecb_encrypt_secure(Cipher::Des3, master, des_derivation_data(s.method, kdd, role));
    case DiversificationMethod::Kdf3:
    case DiversificationMethod::Scp03Kdf: {
      if (master.size() != 16 && master.size() != 24 && master.size() != 32)
        throw GpError(Errc::InvalidLength, std::string(method_name(s.method)) +
                                               " needs an AES-128/192/256 master key, got " +
                                               std::to_string(master.size()) + " bytes");
      const auto bits = static_cast<std::uint16_t>(master.size() * 8);
      SecureBytes out;
      for (std::uint8_t i = 1; out.size() < master.size(); ++i) {
        SecureBytes block = aes_cmac_secure(master, s.layout.input(kdd, role, i, bits));
        out.insert(out.end(), block.begin(), block.end());
      }
      out.resize(master.size());
      return out;
    }
  }
  throw GpError(Errc::Unsupported, "unknown diversification method");
}

const SecureBytes& StaticKeys::of(KeyRole r) const {
  switch (r) {
    case KeyRole::Enc: return enc;
    case KeyRole::Mac: return mac;
    case KeyRole::Dek: return dek;
  }
  return enc;
}

StaticKeys diversify(const DiversificationScheme& s, ByteView master, ByteView kdd) {
  return {diversify_key(s, master, kdd, KeyRole::Enc), diversify_key(s, master, kdd, KeyRole::Mac),
          diversify_key(s, master, kdd, KeyRole::Dek)};
}

}  // namespace sekds::gp
