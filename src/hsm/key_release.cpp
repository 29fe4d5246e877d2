#include "hsm/key_release.h"

#include "gp/crypto.h"
#include "hsm/ceremony_values.h"
#include "hsm/key_objects.h"
#include "hsm/master_keys.h"

namespace sekds::hsm {

const WrappedKey& ReleasedKeys::of(gp::KeyRole r) const noexcept {
  switch (r) {
    case gp::KeyRole::Enc: return enc;
    case gp::KeyRole::Mac: return mac;
    case gp::KeyRole::Dek: return dek;
  }
  return enc;
}

struct KeyRelease::MasterInfo {
  std::string label;
  CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
  gp::KeyType type = gp::KeyType::Aes128;
  bool des = false;
  gp::SecureBytes k1, k2;        // CMAC subkeys (AES masters), from the ceremony's L
  CeremonyValues recorded;       // the chaining values the ceremony recorded
  bool has_direct = false;       // method none: direct-release data present
  gp::SecureBytes direct_data;   // D with E_K(D) = K
};

namespace {

using gp::DiversificationMethod;

// CMAC subkey doubling in GF(2^128) (SP 800-38B).
gp::SecureBytes dbl(const gp::SecureBytes& in) {
  gp::SecureBytes out(16);
  for (std::size_t i = 0; i < 16; ++i)
    out[i] = static_cast<std::uint8_t>((in[i] << 1) | (i + 1 < 16 ? in[i + 1] >> 7 : 0));
  if ((in[0] & 0x80) != 0) out[15] ^= 0x87;
  return out;
}

[[noreturn]] void bad(const std::string& what) { throw HsmError(HsmErrc::InvalidArgument, what); }

}  // namespace

void KeyRelease::forget() {
  std::lock_guard lk(mu_);
  masters_.clear();
}

std::shared_ptr<const KeyRelease::MasterInfo> KeyRelease::master_info(Session& s, const std::string& label) {
  // Through the Hsm's working-copy cache on every use: its periodic look at the original on the
  // token notices a master destroyed or replaced there (the epoch moves, the handle changes).
  const CK_OBJECT_HANDLE current = hsm_.find_working_copy(s, CKO_SECRET_KEY, label);
  const std::uint64_t epoch = hsm_.cache_epoch();
  {
    std::lock_guard lk(mu_);
    if (epoch_ != epoch) {  // reconnect or replaced objects: handles and derived values are stale
      masters_.clear();
      epoch_ = epoch;
    }
    if (auto it = masters_.find(label); it != masters_.end() && it->second->handle == current) return it->second;
  }
  auto m = std::make_shared<MasterInfo>();
  m->label = label;
  m->handle = current;
  const CK_ULONG kt = s.get_ulong(m->handle, CKA_KEY_TYPE);
  if (kt == CKK_DES2 || kt == CKK_DES3) {
    m->des = true;
    m->type = kt == CKK_DES2 ? gp::KeyType::Des2 : gp::KeyType::Des3;
  } else if (kt == CKK_AES) {
    auto t = gp::aes_type_for_length(s.get_ulong(m->handle, CKA_VALUE_LEN));
    if (!t) bad("master key '" + label + "' has an unsupported AES length");
    m->type = *t;
    // The ceremony's record, never a derivation read out now (key_policy.h).
    auto recorded = load_ceremony_values(s, label);
    if (!recorded || recorded->l.size() != 16)
      throw HsmError(HsmErrc::Unsupported, "master '" + label + "' has no ceremony values record (" +
                                               kCeremonyValuesApplication +
                                               "): it was made before the key policy recorded them; import or "
                                               "generate the key set again");
    m->recorded = std::move(*recorded);
    m->k1 = dbl(m->recorded.l);
    m->k2 = dbl(m->k1);
  } else {
    bad("object '" + label + "' is not a DES2, DES3 or AES master key");
  }
  const auto data = find_key_records(s, label, kDirectReleaseApplication);
  if (data.size() == 1) {
    m->has_direct = true;
    m->direct_data = s.get_secret(data.front());
  }
  std::lock_guard lk(mu_);
  if (epoch_ == epoch) masters_[label] = m;
  return m;
}

const gp::SecureBytes& KeyRelease::chaining_value(const MasterInfo& m, gp::ByteView prefix) {
  // prefix = M_1 .. M_{n-1}; C_{n-1} as the ceremony recorded it (ceremony_values.h).
  if (const gp::SecureBytes* c = m.recorded.chain(prefix)) return *c;
  throw HsmError(HsmErrc::Unsupported, "master '" + m.label +
                                           "' has no recorded chaining value for this KDF layout: the key set was "
                                           "made for another layout, or the layout puts KDD bytes before the last "
                                           "CMAC block (refused by the key policy)");
}

gp::SecureBytes KeyRelease::derivation_data(const MasterInfo& m, const gp::DiversificationScheme& scheme,
                                            gp::KeyType card_key_type, gp::ByteView kdd, gp::KeyRole role) {
  switch (scheme.method) {
    case DiversificationMethod::Visa2:
    case DiversificationMethod::Emv: {
      if (m.type != gp::KeyType::Des2) bad(std::string(gp::method_name(scheme.method)) + " needs a DES2 master; '" +
                                           m.label + "' is " + gp::key_type_name(m.type));
      if (card_key_type != gp::KeyType::Des2)
        bad(std::string(gp::method_name(scheme.method)) + " yields DES2 card keys, not " +
            gp::key_type_name(card_key_type));
      gp::Bytes d = gp::des_derivation_data(scheme.method, kdd, role);
      return gp::to_secure(d);
    }
    case DiversificationMethod::Kdf3:
    case DiversificationMethod::Scp03Kdf: {
      if (m.des) bad(std::string(gp::method_name(scheme.method)) + " needs an AES master; '" + m.label + "' is " +
                     gp::key_type_name(m.type));
      if (card_key_type != m.type)
        bad(std::string(gp::method_name(scheme.method)) + " card keys have the master's length: " +
            gp::key_type_name(m.type) + ", not " + gp::key_type_name(card_key_type));
      const std::size_t len = gp::key_length(m.type);
      const auto bits = static_cast<std::uint16_t>(len * 8);
      gp::SecureBytes data;
      for (std::uint8_t i = 1; data.size() < len; ++i) {
        const gp::Bytes msg = scheme.layout.input(kdd, role, i, bits);
        const std::size_t n = msg.empty() ? 1 : (msg.size() + 15) / 16;
        const std::size_t last_at = (n - 1) * 16;
        // Chaining value before the last block, recorded by the ceremony.
        gp::SecureBytes block = last_at == 0 ? gp::SecureBytes(16, 0)
                                             : chaining_value(m, gp::ByteView(msg).first(last_at));
        gp::SecureBytes last(msg.begin() + static_cast<std::ptrdiff_t>(last_at), msg.end());
        if (last.size() == 16) {
          gp::xor_into(last, gp::view(m.k1));
        } else {
          last.push_back(0x80);
          last.resize(16, 0);
          gp::xor_into(last, gp::view(m.k2));
        }
        gp::xor_into(block, gp::view(last));
        data.insert(data.end(), block.begin(), block.end());
      }
      return data;
    }
    case DiversificationMethod::None: {
      if (!m.has_direct)
        bad("master '" + m.label + "' has no direct-release data: it was not created for method none");
      if (card_key_type != m.type)
        bad(std::string("method none releases the master itself: ") + gp::key_type_name(m.type) + ", not " +
            gp::key_type_name(card_key_type));
      return m.direct_data;
    }
  }
  bad("unknown diversification method");
}

WrappedKey KeyRelease::release_one(Session& s, const MasterInfo& m, const gp::DiversificationScheme& scheme,
                                   gp::KeyType card_key_type, gp::KcvAlg kcv_alg, gp::ByteView kdd,
                                   gp::KeyRole role, CK_OBJECT_HANDLE kek) {
  CK_OBJECT_HANDLE h;
  {
    gp::SecureBytes data = derivation_data(m, scheme, card_key_type, kdd, role);
    h = derive_card_key(s, m.handle, m.des, gp::view(data), card_key_type, kcv_alg, hsm_.private_objects());
  }
  ScopedObject key(s, h);
  WrappedKey out;
  out.kcv = card_key_kcv(s, key.get(), card_key_type, kcv_alg);
  out.wrapped = s.wrap(mechanism(CKM_AES_KEY_WRAP), kek, key.get());
  key.destroy();
  return out;
}

ReleasedKeys KeyRelease::derive_and_wrap(const MasterKeyRef& masters, const gp::DiversificationScheme& scheme,
                                         gp::KeyType card_key_type, gp::KcvAlg kcv_alg, gp::ByteView kdd,
                                         const std::string& kek_label) {
  if (kdd.size() != gp::kKddLength)
    bad("KDD must be " + std::to_string(gp::kKddLength) + " bytes, got " + std::to_string(kdd.size()));
  if (card_key_type == gp::KeyType::Des3 && scheme.method != DiversificationMethod::None)
    bad("DES3 card keys are only released by method none");
  check_kcv_alg(card_key_type, kcv_alg);
  return hsm_.with_session("derive and wrap", [&](Session& s) {
    const CK_OBJECT_HANDLE kek = hsm_.find_working_copy(s, CKO_SECRET_KEY, kek_label);
    ReleasedKeys out;
    for (gp::KeyRole role : gp::kKeyRoles) {
      auto m = master_info(s, masters.of(role));
      WrappedKey w = release_one(s, *m, scheme, card_key_type, kcv_alg, kdd, role, kek);
      switch (role) {
        case gp::KeyRole::Enc: out.enc = std::move(w); break;
        case gp::KeyRole::Mac: out.mac = std::move(w); break;
        case gp::KeyRole::Dek: out.dek = std::move(w); break;
      }
    }
    return out;
  });
}

}  // namespace sekds::hsm
