#include "hsm/master_keys.h"

#include "gp/crypto.h"
#include "hsm/ceremony_values.h"
#include "hsm/key_policy.h"

namespace sekds::hsm {

const gp::Bytes& MasterKeySet::kcv(gp::KeyRole r) const noexcept {
  switch (r) {
    case gp::KeyRole::Enc: return kcv_enc;
    case gp::KeyRole::Mac: return kcv_mac;
    case gp::KeyRole::Dek: return kcv_dek;
  }
  return kcv_enc;
}

gp::DiversificationScheme MasterKeySetSpec::scheme() const {
  gp::DiversificationScheme s = gp::DiversificationScheme::of(method);
  if (!layout.parts.empty()) s.layout = layout;
  return s;
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

// Token object, private, sensitive, never extractable, derive only, with the key policy.
Template master_attributes(const std::string& label, bool des, const KeyPolicyCapabilities& caps) {
  Template t;
  add_master_policy(t, des, caps);
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
  return create_key_record(s, label, kDirectReleaseApplication, d, true);
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

// The chaining-value prefixes each label's ceremony must record (labels in ENC, MAC, DEK order).
// Throws before any HSM work for a layout the key policy cannot serve.
std::vector<std::vector<gp::Bytes>> prefixes_per_label(const MasterKeySetSpec& spec, std::size_t labels) {
  std::vector<std::vector<gp::Bytes>> out;
  for (std::size_t i = 0; i < labels; ++i)
    out.push_back(prefixes_needed(spec.scheme(), spec.key_type, master_roles(spec.shared, gp::kKeyRoles[i])));
  return out;
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
  const auto prefixes = prefixes_per_label(spec, labels.size());
  std::vector<gp::Bytes> kcvs = hsm_.with_session("import master keys", [&](Session& s) {
    refuse_existing(hsm_, s, labels);
    const KeyPolicyCapabilities caps = probe_key_policy(s, true);
    Rollback rb{s, {}};
    std::vector<gp::Bytes> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      Template attrs = master_attributes(labels[i], des, caps);
      CK_OBJECT_HANDLE h = materialise_key(s, gp::view(keys[i]), spec.key_type, attrs, true);
      rb.created.push_back(h);
      // The ceremony holds the value: every recorded value comes from it, and the HSM's copy is
      // confirmed without reading anything derived from it.
      if (!holds_value(s, h, spec.key_type, gp::view(keys[i]), true))
        throw HsmError(HsmErrc::KcvMismatch, labels[i] + ": the key in the HSM does not hold the combined value; "
                                                 "nothing was kept");
      CeremonyValues values = ceremony_values_from_value(gp::view(keys[i]), spec.key_type, alg, prefixes[i]);
      const gp::Bytes& expected = components[i].combined_kcv;
      if (!gp::equal_ct(gp::ByteView(values.kcv).first(std::min(values.kcv.size(), expected.size())),
                        gp::ByteView(expected).first(std::min(values.kcv.size(), expected.size()))))
        throw HsmError(HsmErrc::KcvMismatch, labels[i] + ": the combined key has KCV " + gp::to_hex(values.kcv) +
                                                 ", expected " + gp::to_hex(expected) + "; nothing was kept");
      if (spec.method == DiversificationMethod::None) {
        gp::SecureBytes d = direct_release_data(gp::view(keys[i]), spec.key_type);
        rb.created.push_back(create_direct_release_data(s, labels[i], gp::view(d)));
        gp::Bytes released = direct_release_kcv(s, h, gp::view(d), spec.key_type, alg);
        if (released != values.kcv)
          throw HsmError(HsmErrc::KcvMismatch, labels[i] + ": direct-release check failed; nothing was kept");
      }
      rb.created.push_back(store_ceremony_values(s, labels[i], values));
      out.push_back(values.kcv);
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
  const auto prefixes = prefixes_per_label(spec, labels.size());
  std::vector<gp::Bytes> kcvs = hsm_.with_session("generate master keys", [&](Session& s) {
    refuse_existing(hsm_, s, labels);
    const KeyPolicyCapabilities caps = probe_key_policy(s, true);
    Rollback rb{s, {}};
    std::vector<gp::Bytes> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::string& label = labels[i];
      Template attrs;
      add_secret_key_type(attrs, spec.key_type).append(master_attributes(label, des, caps));
      CK_OBJECT_HANDLE h = s.generate_key(gen, attrs);
      rb.created.push_back(h);
      CeremonyValues values;
      if (spec.method != DiversificationMethod::None) {
        values = ceremony_values_in_hsm(s, h, spec.key_type, alg, prefixes[i], true);
      } else {
        const std::size_t block = des ? 8 : 16;
        gp::SecureBytes d = s.random((gp::key_length(spec.key_type) + block - 1) / block * block);
        rb.created.push_back(create_direct_release_data(s, label, gp::view(d)));
        // The released key is E_K(D), not K: its KCV is the one the card will show.
        values.kcv = direct_release_kcv(s, h, gp::view(d), spec.key_type, alg);
      }
      rb.created.push_back(store_ceremony_values(s, label, values));
      out.push_back(values.kcv);
    }
    rb.committed = true;
    return out;
  });
  hsm_.forget_handles();
  return make_result(spec, ref, kcvs);
}

gp::Bytes MasterKeyStore::kcv(const std::string& label) {
  return hsm_.with_session("master key KCV", [&](Session& s) {
    hsm_.find_object(s, CKO_SECRET_KEY, label);  // the key itself must be there
    auto values = load_ceremony_values(s, label);
    if (!values)
      throw HsmError(HsmErrc::ObjectNotFound, "master '" + label + "' has no ceremony values record (" +
                                                  kCeremonyValuesApplication + ")");
    return values->kcv;
  });
}

}  // namespace sekds::hsm
