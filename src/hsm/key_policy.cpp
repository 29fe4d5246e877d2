#include "hsm/key_policy.h"

#include "hsm/error.h"

// PKCS#11 3.0 (p11-kit's header predates it).
#ifndef CKM_SP800_108_COUNTER_KDF
#define CKM_SP800_108_COUNTER_KDF 0x000003ACUL
#endif

namespace sekds::hsm {

CK_MECHANISM_TYPE master_derive_mechanism(bool des_master) noexcept {
  return des_master ? CKM_DES3_ECB_ENCRYPT_DATA : CKM_AES_ECB_ENCRYPT_DATA;
}

Template derived_key_template() {
  Template t;
  t.add(CKA_SENSITIVE, true).add(CKA_WRAP_WITH_TRUSTED, true);
  return t;
}

const char* enforcement_name(Enforcement e) noexcept {
  switch (e) {
    case Enforcement::Unsupported: return "unsupported";
    case Enforcement::NotEnforced: return "not enforced";
    case Enforcement::Enforced: return "enforced";
  }
  return "?";
}

namespace {

constexpr const char* kProbeLabel = "sekds/key-policy-probe";

Template throwaway_aes(bool private_objects) {
  Template t;
  t.add(CKA_LABEL, std::string_view(kProbeLabel))  // first: see sweep_probes
      .add_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .add_ulong(CKA_KEY_TYPE, CKK_AES)
      .add_ulong(CKA_VALUE_LEN, 16)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, true)
      .add(CKA_EXTRACTABLE, false);
  return t;
}

// A readable GENERIC_SECRET derived from `base`: what an attacker with the PIN would ask for.
Template readable_block(bool private_objects) {
  Template t;
  t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .add_ulong(CKA_KEY_TYPE, CKK_GENERIC_SECRET)
      .add_ulong(CKA_VALUE_LEN, 16)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, private_objects)
      .add(CKA_SENSITIVE, false)
      .add(CKA_EXTRACTABLE, true);
  return t;
}

// Runs fn; a CKR_ from the module comes back as the value, anything else propagates.
template <class F>
CK_RV attempt(F&& fn) {
  try {
    fn();
    return CKR_OK;
  } catch (const HsmError& e) {
    if (e.unavailable() || e.code() != HsmErrc::Pkcs11) throw;
    return e.rv();
  }
}

Enforcement probe_allowed_mechanisms(Session& s, bool priv, std::string& detail) {
  Template t = throwaway_aes(priv);
  t.add(CKA_ENCRYPT, true).add_mechanisms(CKA_ALLOWED_MECHANISMS, {CKM_AES_CBC});
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  const CK_RV made = attempt([&] { h = s.generate_key(CKM_AES_KEY_GEN, t); });
  if (made != CKR_OK) {
    detail += "CKA_ALLOWED_MECHANISMS: key generation refused it (" + ckr_name(made) + ")\n";
    return Enforcement::Unsupported;
  }
  ScopedObject key(s, h);
  const gp::Bytes block(16, 0);
  const CK_RV used = attempt([&] { s.encrypt(mechanism(CKM_AES_ECB), key.get(), block); });
  detail += "CKA_ALLOWED_MECHANISMS {CKM_AES_CBC}: C_Encrypt(CKM_AES_ECB) -> " + ckr_name(used) + "\n";
  return used == CKR_OK ? Enforcement::NotEnforced : Enforcement::Enforced;
}

Enforcement probe_derive_template(Session& s, bool priv, std::string& detail) {
  Template t = throwaway_aes(priv);
  t.add(CKA_DERIVE, true).add_template(CKA_DERIVE_TEMPLATE, derived_key_template());
  CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
  const CK_RV made = attempt([&] { h = s.generate_key(CKM_AES_KEY_GEN, t); });
  if (made != CKR_OK) {
    detail += "CKA_DERIVE_TEMPLATE: key generation refused it (" + ckr_name(made) + ")\n";
    return Enforcement::Unsupported;
  }
  ScopedObject base(s, h);
  Template out = readable_block(priv);
  CK_OBJECT_HANDLE derived = CK_INVALID_HANDLE;
  const gp::Bytes data(16, 0);
  const CK_RV rv = attempt([&] { derived = s.derive_encrypt_data(base.get(), CKM_AES_ECB_ENCRYPT_DATA, data, out); });
  if (rv == CKR_OK) s.destroy(derived);
  detail += "CKA_DERIVE_TEMPLATE {sensitive}: deriving a readable object -> " + ckr_name(rv) + "\n";
  return rv == CKR_OK ? Enforcement::NotEnforced : Enforcement::Enforced;
}

bool probe_trusted_wrap(Session& s, bool priv, std::string& detail) {
  Template wt = throwaway_aes(priv);
  wt.add(CKA_WRAP, true);
  ScopedObject wrapping(s, s.generate_key(CKM_AES_KEY_GEN, wt));  // not CKA_TRUSTED
  Template kt;
  kt.add(CKA_LABEL, std::string_view(kProbeLabel))
      .add_ulong(CKA_CLASS, CKO_SECRET_KEY)
      .add_ulong(CKA_KEY_TYPE, CKK_AES)
      .add_ulong(CKA_VALUE_LEN, 16)
      .add(CKA_TOKEN, false)
      .add(CKA_PRIVATE, priv)
      .add(CKA_SENSITIVE, true)
      .add(CKA_EXTRACTABLE, true)
      .add(CKA_WRAP_WITH_TRUSTED, true);
  ScopedObject key(s, s.generate_key(CKM_AES_KEY_GEN, kt));
  const CK_RV rv = attempt([&] { s.wrap(mechanism(CKM_AES_KEY_WRAP), wrapping.get(), key.get()); });
  detail += "CKA_WRAP_WITH_TRUSTED: wrap under an untrusted key -> " + ckr_name(rv) + "\n";
  return rv != CKR_OK;
}

// SoftHSM 2.6.1 creates the object and THEN fails C_GenerateKey on an attribute it does not
// know (CKR_ATTRIBUTE_TYPE_INVALID for CKA_DERIVE_TEMPLATE), leaving a session object no handle
// points to. Every probe object carries kProbeLabel, so whatever is left is found and destroyed.
void sweep_probes(Session& s) {
  Template t;
  t.add(CKA_LABEL, std::string_view(kProbeLabel)).add(CKA_TOKEN, false);
  for (CK_OBJECT_HANDLE o : s.find(t, 64)) s.fn()->C_DestroyObject(s.handle(), o);
}

}  // namespace

KeyPolicyCapabilities probe_key_policy(Session& s, bool private_objects) {
  KeyPolicyCapabilities c;
  c.allowed_mechanisms = probe_allowed_mechanisms(s, private_objects, c.detail);
  c.derive_template = probe_derive_template(s, private_objects, c.detail);
  c.trusted_wrap = probe_trusted_wrap(s, private_objects, c.detail);
  CK_MECHANISM_INFO info{};
  const CK_SESSION_INFO si = s.info();
  c.sp800_108_counter_kdf = s.fn()->C_GetMechanismInfo(si.slotID, CKM_SP800_108_COUNTER_KDF, &info) == CKR_OK &&
                            (info.flags & CKF_DERIVE) != 0;
  c.detail += std::string("CKM_SP800_108_COUNTER_KDF: ") + (c.sp800_108_counter_kdf ? "offered" : "not offered") + "\n";
  sweep_probes(s);
  return c;
}

void add_master_policy(Template& t, bool des_master, const KeyPolicyCapabilities& caps) {
  if (caps.allowed_mechanisms != Enforcement::Unsupported)
    t.add_mechanisms(CKA_ALLOWED_MECHANISMS, {master_derive_mechanism(des_master)});
  if (caps.derive_template != Enforcement::Unsupported) t.add_template(CKA_DERIVE_TEMPLATE, derived_key_template());
}

}  // namespace sekds::hsm
