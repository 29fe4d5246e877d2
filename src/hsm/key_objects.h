// Building blocks for putting key values into the token and learning about keys in it,
// shared by master-key, KEK and release code.
#pragma once

#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "hsm/session.h"

namespace sekds::hsm {

// XOR key components of one key, as custodians hold them, each with its check value.
struct KeyComponents {
  std::vector<gp::SecureBytes> parts;  // 2 or 3 components, each as long as the key
  std::vector<gp::Bytes> kcvs;         // the expected KCV of each component (same order)
  gp::Bytes combined_kcv;              // the expected KCV of the combined key
};

// Checks every component's KCV BEFORE combining (so a mistyped component is named, not just
// "the result is wrong"), XORs them and checks the combined KCV. Throws HsmError(KcvMismatch)
// naming the component or "combined key"; HsmError(InvalidArgument) on counts or lengths.
gp::SecureBytes combine_components(const KeyComponents& c, gp::KeyType type, gp::KcvAlg alg);

CK_KEY_TYPE ck_key_type(gp::KeyType t) noexcept;
// CKA_CLASS = secret key, CKA_KEY_TYPE and, for AES, CKA_VALUE_LEN.
Template& add_secret_key_type(Template& t, gp::KeyType type);

// Puts `value` into the token as a new key WITHOUT C_CreateObject, so the object is
// CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE (C_CreateObject makes NEVER_EXTRACTABLE false
// by definition): an ephemeral transport key T is generated in the HSM (session object,
// sensitive, never extractable, decrypt+derive only), the host asks the HSM for D = D_T(value)
// (C_Decrypt, ECB) and the key is derived as E_T(D) = value with CKM_*_ECB_ENCRYPT_DATA.
// T is destroyed on every path. `attrs` holds everything but class/type/length.
// The value itself exists in host memory for the ceremony (SecureBytes, wiped) — that is
// inherent to importing a known value; it never exists outside this process and the HSM.
CK_OBJECT_HANDLE materialise_key(Session& s, gp::ByteView value, gp::KeyType type, Template& attrs,
                                 bool private_objects);

// E(key, block) for a PUBLIC block, read out of the HSM: derives a readable GENERIC_SECRET
// session object with CKM_*_ECB_ENCRYPT_DATA, reads it and destroys it. This is exactly the
// readable derivation the key policy forbids at run time (key_policy.h): it is used ONLY by the
// generation ceremony, once, for the check values it records (ceremony_values.h), and fails on a
// module that enforces CKA_DERIVE_TEMPLATE. `block` is 8 bytes (DES) or 16 (AES).
gp::SecureBytes ceremony_encrypt_block(Session& s, CK_OBJECT_HANDLE key, bool des_key, gp::ByteView block,
                                       bool private_objects);

// Whether the key object holds `value` (import ceremonies), checked without reading any value
// derived from it: only the KCV of a sensitive key derived from it leaves the HSM.
bool holds_value(Session& s, CK_OBJECT_HANDLE key, gp::KeyType type, gp::ByteView value, bool private_objects);

// A card key derived from `master` as a SESSION object with CKM_DES3_ECB_ENCRYPT_DATA (DES
// master) or CKM_AES_ECB_ENCRYPT_DATA (AES master) over `data`: CKA_SENSITIVE=true,
// CKA_EXTRACTABLE=true but CKA_WRAP_WITH_TRUSTED=true (only a trusted KEK can wrap it), and
// CKA_ENCRYPT (or CKA_SIGN for AES-CMAC KCVs) only so its KCV can be computed in the HSM.
CK_OBJECT_HANDLE derive_card_key(Session& s, CK_OBJECT_HANDLE master, bool des_master, gp::ByteView data,
                                 gp::KeyType card_type, gp::KcvAlg kcv_alg, bool private_objects);

// KCV of a key made by derive_card_key: C_Encrypt (ECB) of the KCV block, or C_Sign (AES-CMAC).
gp::Bytes card_key_kcv(Session& s, CK_OBJECT_HANDLE key, gp::KeyType type, gp::KcvAlg alg);

// A record kept beside a key on the token: a non-modifiable CKO_DATA carrying the key's label
// and CKA_APPLICATION `application` (direct-release data, ceremony values, KEK check).
CK_OBJECT_HANDLE create_key_record(Session& s, const std::string& label, const char* application, gp::ByteView value,
                                   bool private_objects);
// The records of `label` for `application` (at most 2: callers refuse more than one).
std::vector<CK_OBJECT_HANDLE> find_key_records(Session& s, const std::string& label, const char* application);

// Refuses a KCV convention that does not fit the key type (DES keys: Des3Zero only).
void check_kcv_alg(gp::KeyType type, gp::KcvAlg alg);

}  // namespace sekds::hsm
