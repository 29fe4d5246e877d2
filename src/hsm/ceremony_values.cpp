#include "hsm/ceremony_values.h"

#include <algorithm>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "hsm/error.h"
#include "hsm/key_objects.h"

namespace sekds::hsm {
namespace {

constexpr std::uint8_t kMagic[4] = {'S', 'K', 'C', '1'};
constexpr std::size_t kBlock = 16;

[[noreturn]] void malformed(const std::string& what) {
  throw HsmError(HsmErrc::InvalidArgument, "ceremony values record is malformed: " + what);
}

// Byte offset of the KDD in the PRF input (every layout has one: KdfLayout::parse checks).
std::size_t kdd_offset(const gp::KdfLayout& layout) {
  std::size_t off = 0;
  for (const auto& p : layout.parts) {
    switch (p.field) {
      case gp::KdfLayout::Field::Kdd: return off;
      case gp::KdfLayout::Field::Counter:
      case gp::KdfLayout::Field::Constant: off += 1; break;
      case gp::KdfLayout::Field::LengthBits: off += 2; break;
      case gp::KdfLayout::Field::Literal: off += p.literal.size(); break;
    }
  }
  return off;
}

bool is_cmac_method(gp::DiversificationMethod m) {
  return m == gp::DiversificationMethod::Kdf3 || m == gp::DiversificationMethod::Scp03Kdf;
}

// CBC-MAC state after `prefix` with `encrypt_block` as the block cipher.
template <class Encrypt>
gp::SecureBytes chain_over(gp::ByteView prefix, Encrypt&& encrypt_block) {
  gp::SecureBytes state(kBlock, 0);
  for (std::size_t off = 0; off < prefix.size(); off += kBlock) {
    gp::xor_into(state, prefix.subspan(off, kBlock));
    state = encrypt_block(gp::view(state));
  }
  return state;
}

}  // namespace

const gp::SecureBytes* CeremonyValues::chain(gp::ByteView prefix) const noexcept {
  for (const auto& c : chains)
    if (std::equal(c.prefix.begin(), c.prefix.end(), prefix.begin(), prefix.end())) return &c.value;
  return nullptr;
}

gp::SecureBytes CeremonyValues::encode() const {
  gp::SecureBytes out(std::begin(kMagic), std::end(kMagic));
  auto put_field = [&](gp::ByteView v) {
    out.push_back(static_cast<std::uint8_t>(v.size()));
    out.insert(out.end(), v.begin(), v.end());
  };
  put_field(kcv);
  put_field(gp::view(l));
  out.push_back(static_cast<std::uint8_t>(chains.size()));
  for (const auto& c : chains) {
    put_field(c.prefix);
    out.insert(out.end(), c.value.begin(), c.value.end());
  }
  return out;
}

CeremonyValues CeremonyValues::decode(gp::ByteView data) {
  std::size_t at = 0;
  auto take = [&](std::size_t n, const char* what) {
    if (data.size() - at < n) malformed(std::string("truncated in ") + what);
    gp::ByteView v = data.subspan(at, n);
    at += n;
    return v;
  };
  auto field = [&](const char* what) { return take(take(1, what)[0], what); };
  if (!std::equal(std::begin(kMagic), std::end(kMagic), take(4, "magic").begin())) malformed("unknown format");
  CeremonyValues v;
  gp::ByteView kcv = field("KCV");
  v.kcv.assign(kcv.begin(), kcv.end());
  gp::ByteView l = field("L");
  if (!l.empty() && l.size() != kBlock) malformed("L is not one block");
  v.l.assign(l.begin(), l.end());
  const std::size_t n = take(1, "chain count")[0];
  for (std::size_t i = 0; i < n; ++i) {
    gp::ByteView prefix = field("chain prefix");
    if (prefix.empty() || prefix.size() % kBlock != 0) malformed("a chain prefix is not whole blocks");
    gp::ByteView value = take(kBlock, "chain value");
    v.chains.push_back({gp::Bytes(prefix.begin(), prefix.end()), gp::SecureBytes(value.begin(), value.end())});
  }
  if (at != data.size()) malformed("trailing bytes");
  return v;
}

std::vector<gp::KeyRole> master_roles(bool shared, gp::KeyRole own) {
  if (shared) return {gp::kKeyRoles.begin(), gp::kKeyRoles.end()};
  return {own};
}

std::vector<gp::Bytes> prefixes_needed(const gp::DiversificationScheme& scheme, gp::KeyType type,
                                       const std::vector<gp::KeyRole>& roles) {
  std::vector<gp::Bytes> out;
  if (!is_cmac_method(scheme.method)) return out;
  const std::size_t len = gp::key_length(type);
  const auto bits = static_cast<std::uint16_t>(len * 8);
  const std::size_t kdd_at = kdd_offset(scheme.layout);
  const gp::Bytes kdd(gp::kKddLength, 0);  // stands for any card: no prefix below contains it
  for (gp::KeyRole role : roles) {
    for (std::uint8_t i = 1; (i - 1u) * kBlock < len; ++i) {
      const gp::Bytes msg = scheme.layout.input(kdd, role, i, bits);
      const std::size_t n = msg.empty() ? 1 : (msg.size() + kBlock - 1) / kBlock;
      const std::size_t last_at = (n - 1) * kBlock;
      if (last_at == 0) continue;
      if (last_at > kdd_at)
        throw HsmError(HsmErrc::Unsupported,
                       "KDF layout '" + scheme.layout.spec() +
                           "' puts KDD bytes before the last CMAC block: its chaining value would be a per-card "
                           "value read out of the HSM at every release, which the key policy forbids; put the KDD "
                           "in the last 16 bytes of the PRF input");
      gp::Bytes prefix(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(last_at));
      if (std::find(out.begin(), out.end(), prefix) == out.end()) out.push_back(std::move(prefix));
    }
  }
  return out;
}

CeremonyValues ceremony_values_from_value(gp::ByteView master, gp::KeyType type, gp::KcvAlg kcv_alg,
                                          const std::vector<gp::Bytes>& prefixes) {
  CeremonyValues v;
  v.kcv = gp::kcv(kcv_alg, master);
  if (!gp::is_aes(type)) return v;
  const gp::Cipher c = gp::cipher_of(type);
  auto encrypt = [&](gp::ByteView block) { return gp::ecb_encrypt_secure(c, master, block); };
  v.l = encrypt(gp::Bytes(kBlock, 0));
  for (const auto& p : prefixes) v.chains.push_back({p, chain_over(p, encrypt)});
  return v;
}

CeremonyValues ceremony_values_in_hsm(Session& s, CK_OBJECT_HANDLE master, gp::KeyType type, gp::KcvAlg kcv_alg,
                                      const std::vector<gp::Bytes>& prefixes, bool private_objects) {
  const bool des = !gp::is_aes(type);
  auto encrypt = [&](gp::ByteView block) {
    try {
      return ceremony_encrypt_block(s, master, des, block, private_objects);
    } catch (const HsmError& e) {
      if (e.unavailable() || e.code() != HsmErrc::Pkcs11) throw;
      throw HsmError(HsmErrc::Unsupported,
                     std::string("this module refuses to let the generation ceremony read its check values (") +
                         e.what() + "); import the key set from components instead, whose values the ceremony knows");
    }
  };
  CeremonyValues v;
  gp::SecureBytes k = encrypt(gp::kcv_plaintext(kcv_alg));
  v.kcv.assign(k.begin(), k.begin() + gp::kKcvLength);
  if (des) return v;
  v.l = encrypt(gp::Bytes(kBlock, 0));
  for (const auto& p : prefixes) v.chains.push_back({p, chain_over(p, encrypt)});
  return v;
}

CK_OBJECT_HANDLE store_ceremony_values(Session& s, const std::string& label, const CeremonyValues& v) {
  const gp::SecureBytes data = v.encode();
  return create_key_record(s, label, kCeremonyValuesApplication, gp::view(data), true);
}

std::optional<CeremonyValues> load_ceremony_values(Session& s, const std::string& label) {
  const auto found = find_key_records(s, label, kCeremonyValuesApplication);
  if (found.empty()) return std::nullopt;
  if (found.size() > 1)
    throw HsmError(HsmErrc::InvalidArgument, "master '" + label + "' has more than one ceremony values record");
  return CeremonyValues::decode(gp::view(s.get_secret(found.front())));
}

}  // namespace sekds::hsm
