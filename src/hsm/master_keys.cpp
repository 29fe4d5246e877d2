#include "hsm/master_keys.h"

#include "gp/crypto.h"

namespace sekds::hsm {

const gp::Bytes& MasterKeySet::kcv(gp::KeyRole r) const noexcept {
  switch (r) {
    case gp::KeyRole::Enc: return kcv_enc;
    case gp::KeyRole::Mac: return kcv_mac;
    case gp::KeyRole::Dek: return kcv_dek;
  }
  return kcv_enc;
}

namespace {

using gp::DiversificationMethod;

void check_spec(const MasterKeySetSpec& spec, const Hsm& hsm) {
  check_name("issuer", spec.issuer);
  if (spec.kvn < 1 || spec.kvn > 255) throw HsmError(HsmErrc::InvalidArgument, "key set version must be 1..255");
  if (!hsm.private_objects())
    throw HsmError(HsmErrc::InvalidArgument, "master keys are private objects: log in as USER, not SO");
  const bool aes = gp::is_aes(spec.key_type);
  switch (spec.method) {
    case DiversificationMethod::Visa2:
    case DiversificationMethod::Emv:
      if (spec.key_type != gp::KeyType::Des2)
        throw HsmError(HsmErrc::InvalidArgument, std::string(gp::method_name(spec.method)) +
                                                     " needs a DES2 master key, not " + gp::key_type_name(spec.key_type));
      break;
    case DiversificationMethod::Kdf3:
    case DiversificationMethod::Scp03Kdf:
      if (!aes)
        throw HsmError(HsmErrc::InvalidArgument, std::string(gp::method_name(spec.method)) +
                                                     " needs an AES master key, not " + gp::key_type_name(spec.key_type));
      break;
    case DiversificationMethod::None: break;
  }
}

// Token object, private, sensitive, never extractable, derive only.
Template master_attributes(const std::string& label) {
  Template t;
  t.add(CKA_TOKEN, true)
      .add(CKA_PRIVATE, true)
      .add(CKA_SENSITIVE, true)
      .add(CKA_EXTRACTABLE, false)
      .add(CKA_DERIVE, true)
      .add(CKA_ENCRYPT, false)
      .add(CKA_DECRYPT, false)
      .add(CKA_WRAP, false)
      .add(CKA_UNWRAP, false)
      .add(CKA_SIGN, false)
      .add(CKA_VERIFY, false)
      .add(CKA_LABEL, std::string_view(label))
      .add(CKA_ID, std::string_view(label));
  return t;
}

CK_OBJECT_HANDLE create_direct_release_data(Session& s, const std::string& label, gp::ByteView d) {
  Template t;
  t.add_ulong(CKA_CLASS, CKO_DATA)
      .add(CKA_TOKEN, true)
      .add(CKA_PRIVATE, true)
      .add(CKA_MODIFIABLE, false)
      .add(CKA_LABEL, std::string_view(label))
      .add(CKA_APPLICATION, std::string_view(kDirectReleaseApplication))
      .add(CKA_VALUE, d);
  return s.create(t);
}

// The data D with E_K(D) = K for method none: whole blocks (AES-192 keys padded to 32 bytes;
// the derived key keeps the first 24).
gp::SecureBytes direct_release_data(gp::ByteView key, gp::KeyType type) {
  const std::size_t block = gp::is_aes(type) ? 16 : 8;
  gp::SecureBytes padded(key.begin(), key.end());
  padded.resize((key.size() + block - 1) / block * block, 0);
  return gp::ecb_decrypt_secure(gp::cipher_of(type), key, gp::view(padded));
}

// KCV of the key method none releases: derived from the master with D, like a release does.
gp::Bytes direct_release_kcv(Session& s, CK_OBJECT_HANDLE master, gp::ByteView d, gp::KeyType type,
                             gp::KcvAlg alg) {
  ScopedObject card(s, derive_card_key(s, master, !gp::is_aes(type), d, type, alg, true));
  gp::Bytes kcv = card_key_kcv(s, card.get(), type, alg);
  card.destroy();
  return kcv;
}

// Destroys what a failed ceremony created (best effort: the error being reported matters more).
struct Rollback {
  Session& s;
  std::vector<CK_OBJECT_HANDLE> created;
  bool committed = false;
  ~Rollback() {
    if (!committed)
      for (CK_OBJECT_HANDLE h : created) s.fn()->C_DestroyObject(s.handle(), h);
  }
};

std::vector<std::string> distinct_labels(const MasterKeyRef& ref) {
  if (ref.is_shared()) return {ref.enc};
  return {ref.enc, ref.mac, ref.dek};
}

MasterKeySet make_result(const MasterKeySetSpec& spec, const MasterKeyRef& ref, const std::vector<gp::Bytes>& kcvs) {
  MasterKeySet out;
  out.ref = ref;
  out.kcv_alg = gp::gp_kcv_alg(spec.key_type);
  out.kcv_enc = kcvs[0];
  out.kcv_mac = kcvs.size() > 1 ? kcvs[1] : kcvs[0];
  out.kcv_dek = kcvs.size() > 2 ? kcvs[2] : kcvs[0];
  return out;
}

void refuse_existing(Hsm& hsm, Session& s, const std::vector<std::string>& labels) {
  for (const auto& l : labels)
    if (hsm.label_exists(s, l))
      throw HsmError(HsmErrc::ObjectExists, "an object labelled '" + l + "' exists already; labels are never reused");
}

}  // namespace

MasterKeySet MasterKeyStore::import_components(const MasterKeySetSpec& spec,
                                               const std::vector<KeyComponents>& components) {
  check_spec(spec, hsm_);
  const MasterKeyRef ref = MasterKeyRef::of_key_set(spec.issuer, spec.kvn, spec.shared);
  const std::vector<std::string> labels = distinct_labels(ref);
  if (components.size() != labels.size())
    throw HsmError(HsmErrc::InvalidArgument, std::string("a ") + (spec.shared ? "shared" : "per-role") +
                                                 " key set needs " + std::to_string(labels.size()) +
                                                 " component sets, got " + std::to_string(components.size()));
  const gp::KcvAlg alg = gp::gp_kcv_alg(spec.key_type);
  // Every KCV is checked before anything reaches the HSM.
  std::vector<gp::SecureBytes> keys;
  for (std::size_t i = 0; i < components.size(); ++i) {
    try {
      keys.push_back(combine_components(components[i], spec.key_type, alg));
    } catch (const HsmError& e) {
      throw HsmError(e.code(), labels[i] + ": " + e.what());
    }
  }
  const bool des = !gp::is_aes(spec.key_type);
  std::vector<gp::Bytes> kcvs = hsm_.with_session("import master keys", [&](Session& s) {
    refuse_existing(hsm_, s, labels);
    Rollback rb{s, {}};
    std::vector<gp::Bytes> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      Template attrs = master_attributes(labels[i]);
      CK_OBJECT_HANDLE h = materialise_key(s, gp::view(keys[i]), spec.key_type, attrs, true);
      rb.created.push_back(h);
      gp::Bytes in_hsm = derive_kcv(s, h, des, alg, true);
      const gp::Bytes& expected = components[i].combined_kcv;
      if (!gp::equal_ct(gp::ByteView(in_hsm).first(std::min(in_hsm.size(), expected.size())),
                        gp::ByteView(expected).first(std::min(in_hsm.size(), expected.size()))))
        throw HsmError(HsmErrc::KcvMismatch, labels[i] + ": the key in the HSM has KCV " + gp::to_hex(in_hsm) +
                                                 ", expected " + gp::to_hex(expected) + "; nothing was kept");
      if (spec.method == DiversificationMethod::None) {
        gp::SecureBytes d = direct_release_data(gp::view(keys[i]), spec.key_type);
        rb.created.push_back(create_direct_release_data(s, labels[i], gp::view(d)));
        gp::Bytes released = direct_release_kcv(s, h, gp::view(d), spec.key_type, alg);
        if (released != in_hsm)
          throw HsmError(HsmErrc::KcvMismatch, labels[i] + ": direct-release check failed; nothing was kept");
      }
      out.push_back(in_hsm);
    }
    rb.committed = true;
    return out;
  });
  hsm_.forget_handles();
  return make_result(spec, ref, kcvs);
}

MasterKeySet MasterKeyStore::generate(const MasterKeySetSpec& spec) {
  check_spec(spec, hsm_);
  const MasterKeyRef ref = MasterKeyRef::of_key_set(spec.issuer, spec.kvn, spec.shared);
  const std::vector<std::string> labels = distinct_labels(ref);
  const gp::KcvAlg alg = gp::gp_kcv_alg(spec.key_type);
  const bool des = !gp::is_aes(spec.key_type);
  CK_MECHANISM_TYPE gen = CKM_AES_KEY_GEN;
  if (spec.key_type == gp::KeyType::Des2) gen = CKM_DES2_KEY_GEN;
  if (spec.key_type == gp::KeyType::Des3) gen = CKM_DES3_KEY_GEN;
  std::vector<gp::Bytes> kcvs = hsm_.with_session("generate master keys", [&](Session& s) {
    refuse_existing(hsm_, s, labels);
    Rollback rb{s, {}};
    std::vector<gp::Bytes> out;
    for (const auto& label : labels) {
      Template attrs;
      add_secret_key_type(attrs, spec.key_type);
      Template rest = master_attributes(label);
      CK_ATTRIBUTE* a = rest.data();
      for (CK_ULONG j = 0; j < rest.size(); ++j)
        attrs.add(a[j].type, gp::ByteView(static_cast<const std::uint8_t*>(a[j].pValue), a[j].ulValueLen));
      CK_OBJECT_HANDLE h = s.generate_key(gen, attrs);
      rb.created.push_back(h);
      if (spec.method == DiversificationMethod::None) {
        const std::size_t block = des ? 8 : 16;
        gp::SecureBytes d = s.random((gp::key_length(spec.key_type) + block - 1) / block * block);
        rb.created.push_back(create_direct_release_data(s, label, gp::view(d)));
        out.push_back(direct_release_kcv(s, h, gp::view(d), spec.key_type, alg));
      } else {
        out.push_back(derive_kcv(s, h, des, alg, true));
      }
    }
    rb.committed = true;
    return out;
  });
  hsm_.forget_handles();
  return make_result(spec, ref, kcvs);
}

gp::Bytes MasterKeyStore::kcv(const std::string& label) {
  return hsm_.with_session("master key KCV", [&](Session& s) {
    CK_OBJECT_HANDLE h = hsm_.find_object(s, CKO_SECRET_KEY, label);
    const CK_ULONG type = s.get_ulong(h, CKA_KEY_TYPE);
    const bool des = type == CKK_DES2 || type == CKK_DES3;
    return derive_kcv(s, h, des, des ? gp::KcvAlg::Des3Zero : gp::KcvAlg::AesGp, hsm_.private_objects());
  });
}

}  // namespace sekds::hsm
