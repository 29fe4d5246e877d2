#include "hsm/key_objects.h"

#include "gp/crypto.h"
#include "hsm/error.h"

namespace sekds::hsm {

gp::SecureBytes combine_components(const KeyComponents& c, gp::KeyType type, gp::KcvAlg alg) {
  const std::size_t len = gp::key_length(type);
  if (c.parts.size() < 2 || c.parts.size() > 3)
    throw HsmError(HsmErrc::InvalidArgument, "a key is combined from 2 or 3 components, got " +
                                                 std::to_string(c.parts.size()));
  if (c.kcvs.size() != c.parts.size())
    throw HsmError(HsmErrc::InvalidArgument, "each component needs its KCV (" + std::to_string(c.parts.size()) +
                                                 " components, " + std::to_string(c.kcvs.size()) + " KCVs)");
  for (std::size_t i = 0; i < c.parts.size(); ++i) {
    const std::string name = "component " + std::to_string(i + 1);
    if (c.parts[i].size() != len)
      throw HsmError(HsmErrc::InvalidArgument, name + " is " + std::to_string(c.parts[i].size()) + " bytes, " +
                                                   gp::key_type_name(type) + " needs " + std::to_string(len));
    if (c.kcvs[i].empty() || c.kcvs[i].size() > 16)
      throw HsmError(HsmErrc::InvalidArgument, name + ": KCV must be 1..16 bytes");
    gp::Bytes k = gp::kcv(alg, gp::view(c.parts[i]), c.kcvs[i].size());
    if (!gp::equal_ct(k, c.kcvs[i]))
      throw HsmError(HsmErrc::KcvMismatch, name + ": KCV (" + gp::kcv_alg_name(alg) + ") is " + gp::to_hex(k) +
                                               ", expected " + gp::to_hex(c.kcvs[i]) + "; nothing was combined");
  }
  gp::SecureBytes key = c.parts[0];
  for (std::size_t i = 1; i < c.parts.size(); ++i) gp::xor_into(key, gp::view(c.parts[i]));
  if (c.combined_kcv.empty() || c.combined_kcv.size() > 16)
    throw HsmError(HsmErrc::InvalidArgument, "the combined key's KCV must be 1..16 bytes");
  gp::Bytes k = gp::kcv(alg, gp::view(key), c.combined_kcv.size());
  if (!gp::equal_ct(k, c.combined_kcv))
    throw HsmError(HsmErrc::KcvMismatch, std::string("combined key: KCV (") + gp::kcv_alg_name(alg) + ") is " +
                                             gp::to_hex(k) + ", expected " + gp::to_hex(c.combined_kcv));
  return key;
}

CK_KEY_TYPE ck_key_type(gp::KeyType t) noexcept {
  switch (t) {
    case gp::KeyType::Des2: return CKK_DES2;
    case gp::KeyType::Des3: return CKK_DES3;
    default: return CKK_AES;
  }
}

Template& add_secret_key_type(Template& t, gp::KeyType type) {
  t.add_ulong(CKA_CLASS, CKO_SECRET_KEY).add_ulong(CKA_KEY_TYPE, ck_key_type(type));
  if (gp::is_aes(type)) t.add_ulong(CKA_VALUE_LEN, gp::key_length(type));
  return t;
}

CK_OBJECT_HANDLE materialise_key(Session& s, gp::ByteView value, gp::KeyType type, Template& attrs,
                                 bool private_objects) {
  const bool des = !gp::is_aes(type);
  if (value.size() != gp::key_length(type))
    throw HsmError(HsmErrc::InvalidArgument, std::string(gp::key_type_name(type)) + " key must be " +
                                                 std::to_string(gp::key_length(type)) + " bytes");
  Template tt;
  tt.add_ulong(CKA_CLASS, CKO_SECRET_KEY).add_ulong(CKA_KEY_TYPE, des ? CKK_DES3 : CKK_AES);
  if (!des) tt.add_ulong(CKA_VALUE_LEN, 32);
  tt.add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, true)
      .add(CKA_EXTRACTABLE, false)
      .add(CKA_DECRYPT, true)
      .add(CKA_DERIVE, true)
      .add(CKA_ENCRYPT, false)
      .add(CKA_WRAP, false)
      .add(CKA_UNWRAP, false)
      .add(CKA_SIGN, false);
  ScopedObject transport(s, s.generate_key(des ? CKM_DES3_KEY_GEN : CKM_AES_KEY_GEN, tt));

  // ECB needs whole blocks: an AES-192 value is padded to 32 bytes and the derived key keeps
  // the first 24 (SoftHSM truncates derived data to CKA_VALUE_LEN).
  const std::size_t block = des ? 8 : 16;
  gp::SecureBytes padded(value.begin(), value.end());
  padded.resize((value.size() + block - 1) / block * block, 0);
  gp::SecureBytes data = s.decrypt(mechanism(des ? CKM_DES3_ECB : CKM_AES_ECB), transport.get(), gp::view(padded));

  Template full;
  add_secret_key_type(full, type).append(attrs);
  CK_OBJECT_HANDLE key = s.derive_encrypt_data(
      transport.get(), des ? CKM_DES3_ECB_ENCRYPT_DATA : CKM_AES_ECB_ENCRYPT_DATA, gp::view(data), full);
  transport.destroy();
  return key;
}

gp::SecureBytes ceremony_encrypt_block(Session& s, CK_OBJECT_HANDLE key, bool des_key, gp::ByteView block,
                                       bool private_objects) {
  const std::size_t bs = des_key ? 8 : 16;
  if (block.size() != bs)
    throw HsmError(HsmErrc::InvalidArgument, "public block must be " + std::to_string(bs) + " bytes");
  Template t;
  t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .add_ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
      .add_ulong(CKA_VALUE_LEN, bs)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, false)
      .add(CKA_EXTRACTABLE, true)
      .add(CKA_DERIVE, false)
      .add(CKA_SIGN, false)
      .add(CKA_VERIFY, false);
  ScopedObject out(s, s.derive_encrypt_data(key, des_key ? CKM_DES3_ECB_ENCRYPT_DATA : CKM_AES_ECB_ENCRYPT_DATA,
                                            block, t));
  gp::SecureBytes v = s.get_secret(out.get());
  out.destroy();
  if (v.size() != bs) throw HsmError(HsmErrc::InvalidArgument, "derived block has an unexpected length");
  return v;
}

bool holds_value(Session& s, CK_OBJECT_HANDLE key, gp::KeyType type, gp::ByteView value, bool private_objects) {
  // A check key C = E_K(P) is derived as a sensitive object and only its KCV leaves the HSM;
  // the host, which knows K here, computes the same from the value.
  const bool des = !gp::is_aes(type);
  const gp::KeyType check_type = des ? gp::KeyType::Des2 : gp::KeyType::Aes128;
  const gp::KcvAlg alg = gp::gp_kcv_alg(check_type);
  const gp::Bytes p(16, 0x5A);  // any public block; two DES blocks or one AES block
  ScopedObject check(s, derive_card_key(s, key, des, p, check_type, alg, private_objects));
  const gp::Bytes in_hsm = card_key_kcv(s, check.get(), check_type, alg);
  check.destroy();
  const gp::SecureBytes c = gp::ecb_encrypt_secure(gp::cipher_of(type), value, p);
  const gp::Bytes expected = gp::kcv(alg, gp::ByteView(c).first(gp::key_length(check_type)));
  return gp::equal_ct(in_hsm, expected);
}

CK_OBJECT_HANDLE create_key_record(Session& s, const std::string& label, const char* application, gp::ByteView value,
                                   bool private_objects) {
  Template t;
  t.add_ulong(CKA_CLASS, CKO_DATA)
      .add(CKA_TOKEN, true)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_MODIFIABLE, false)
      .add(CKA_LABEL, std::string_view(label))
      .add(CKA_APPLICATION, std::string_view(application))
      .add(CKA_VALUE, value);
  return s.create(t);
}

std::vector<CK_OBJECT_HANDLE> find_key_records(Session& s, const std::string& label, const char* application) {
  Template t;
  t.add_ulong(CKA_CLASS, CKO_DATA)
      .add(CKA_LABEL, std::string_view(label))
      .add(CKA_APPLICATION, std::string_view(application));
  return s.find(t, 2);
}

void check_kcv_alg(gp::KeyType type, gp::KcvAlg alg) {
  const bool des_alg = alg == gp::KcvAlg::Des3Zero;
  if (des_alg == gp::is_aes(type))
    throw HsmError(HsmErrc::InvalidArgument, std::string("KCV convention ") + gp::kcv_alg_name(alg) +
                                                 " does not fit a " + gp::key_type_name(type) + " key");
}

CK_OBJECT_HANDLE derive_card_key(Session& s, CK_OBJECT_HANDLE master, bool des_master, gp::ByteView data,
                                 gp::KeyType card_type, gp::KcvAlg kcv_alg, bool private_objects) {
  const bool cmac_kcv = kcv_alg == gp::KcvAlg::AesCmac;
  Template t;
  add_secret_key_type(t, card_type)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, true)
      .add(CKA_EXTRACTABLE, true)
      .add(CKA_WRAP_WITH_TRUSTED, true)
      .add(CKA_ENCRYPT, !cmac_kcv)
      .add(CKA_SIGN, cmac_kcv)
      .add(CKA_DECRYPT, false)
      .add(CKA_VERIFY, false)
      .add(CKA_WRAP, false)
      .add(CKA_UNWRAP, false)
      .add(CKA_DERIVE, false);
  return s.derive_encrypt_data(master, des_master ? CKM_DES3_ECB_ENCRYPT_DATA : CKM_AES_ECB_ENCRYPT_DATA, data, t);
}

gp::Bytes card_key_kcv(Session& s, CK_OBJECT_HANDLE key, gp::KeyType type, gp::KcvAlg alg) {
  check_kcv_alg(type, alg);
  gp::Bytes block = gp::kcv_plaintext(alg);
  gp::Bytes out;
  switch (alg) {
    case gp::KcvAlg::Des3Zero: out = s.encrypt(mechanism(CKM_DES3_ECB), key, block); break;
    case gp::KcvAlg::AesGp: out = s.encrypt(mechanism(CKM_AES_ECB), key, block); break;
    case gp::KcvAlg::AesCmac: out = s.sign(mechanism(CKM_AES_CMAC), key, block); break;
  }
  if (out.size() < gp::kKcvLength) throw HsmError(HsmErrc::InvalidArgument, "KCV block too short");
  out.resize(gp::kKcvLength);
  return out;
}

}  // namespace sekds::hsm
