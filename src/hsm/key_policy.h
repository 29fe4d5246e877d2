// What the token itself is asked to enforce on the keys sekds puts into it, and what a module
// is found to enforce.
//
// The promise is that a card key leaves the HSM only wrapped under a trusted KEK. A master
// with CKA_DERIVE can, by the PKCS#11 rules alone, be the base of a C_DeriveKey whose result is
// NOT sensitive: anyone with the user PIN could then read E_MK(x) for any x — every card key
// (they are such encryptions of public data) and, for method none, the master itself. So:
// - the product never needs such a readable derivation at run time (ceremony values are
//   recorded when the key is made: ceremony_values.h), and
// - the token is told to forbid it, where it can:
//   CKA_ALLOWED_MECHANISMS (PKCS#11 2.40) limits each key to the one mechanism it is for:
//     master -> its CKM_*_ECB_ENCRYPT_DATA; KEK -> CKM_AES_KEY_WRAP (no CBC/ECB oracle);
//   CKA_DERIVE_TEMPLATE (PKCS#11 3.0) forces every object derived from a master to be
//     sensitive and wrap-with-trusted, so no session can derive a readable one.
// What SoftHSMv2 2.6.1 does (measured, tests/hsm/test_attacker.cpp): CKA_ALLOWED_MECHANISMS is
// stored and enforced (C_EncryptInit / other derive mechanisms: CKR_MECHANISM_INVALID), but
// CKA_DERIVE_TEMPLATE is unknown (CKR_ATTRIBUTE_TYPE_INVALID): a PIN holder can still derive a
// readable E_MK(x) with the master's own mechanism. hsm/README.md states that residual risk.
#pragma once

#include <string>
#include <vector>

#include "hsm/session.h"

namespace sekds::hsm {

// The one derivation mechanism a master of this family may be used with.
CK_MECHANISM_TYPE master_derive_mechanism(bool des_master) noexcept;

// What every object derived from a master must be (the value of CKA_DERIVE_TEMPLATE).
Template derived_key_template();

enum class Enforcement { Unsupported, NotEnforced, Enforced };
const char* enforcement_name(Enforcement e) noexcept;  // "unsupported", "not enforced", "enforced"

struct KeyPolicyCapabilities {
  Enforcement derive_template = Enforcement::Unsupported;
  Enforcement allowed_mechanisms = Enforcement::Unsupported;
  bool sp800_108_counter_kdf = false;  // CKM_SP800_108_COUNTER_KDF: KDF3 with no masks at all
  bool trusted_wrap = false;           // CKA_WRAP_WITH_TRUSTED refuses an untrusted wrapping key
  std::string detail;                  // how each verdict was reached, one line each
};

// Finds out, with throwaway session objects, what the module enforces. Nothing is left on the
// token. `private_objects`: the login may create private objects (USER).
KeyPolicyCapabilities probe_key_policy(Session& s, bool private_objects);

// Adds the master policy to a master's template: each attribute the module knows (a module that
// refuses an attribute in a template would refuse the whole key).
void add_master_policy(Template& t, bool des_master, const KeyPolicyCapabilities& caps);

}  // namespace sekds::hsm
