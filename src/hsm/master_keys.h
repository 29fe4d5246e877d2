// Issuer master key sets (issuer x key set version) in the token: one shared key or one per
// role (ENC, MAC, DEK), imported from XOR components or generated inside the HSM.
//
// Every master is a private token object, CKA_SENSITIVE=true, CKA_EXTRACTABLE=false (and, by
// construction, ALWAYS_SENSITIVE and NEVER_EXTRACTABLE — see materialise_key), CKA_DERIVE=true
// and nothing else: no encrypt/decrypt/wrap/unwrap/sign/verify; CKA_ALLOWED_MECHANISMS holds
// its one derivation mechanism and, where the module knows it, CKA_DERIVE_TEMPLATE forces every
// derived object to be sensitive and wrap-with-trusted (key_policy.h). Card keys are made with
// C_DeriveKey (see key_release.h); the KCV and the CMAC masks are recorded by the ceremony
// beside the key (ceremony_values.h), so no release ever reads a value derived from a master.
// Labels: sekds/mk/<issuer>/<kvn>/<enc|mac|dek|all>.
//
// The masters stay CKA_MODIFIABLE (the default): SoftHSM refuses C_CopyObject of a
// non-modifiable object, and the release path works on in-memory copies (Hsm::find_working_copy).
// What a PIN holder could modify is harmless: CKA_SENSITIVE/CKA_EXTRACTABLE only move towards
// safety, CKA_ALLOWED_MECHANISMS is read-only, so setting CKA_ENCRYPT on a master (or a copy)
// still gives no encryption mechanism (tests/hsm/test_attacker.cpp).
//
// Method "none" (card keys ARE the master keys): a never-extractable master cannot be released
// as it is, so such a key set also stores, per key, a private CKO_DATA object (same label,
// CKA_APPLICATION "sekds/direct-release") holding D with E_K(D) = card key:
//   imported: D = D_K(K) computed in host memory during the ceremony (K is there anyway), so
//             the released key is exactly the imported K;
//   generated: D random; the card key is E_K(D) and the KCV returned is the card key's.
// D alone reveals nothing (it is a ciphertext under the master).
#pragma once

#include <string>
#include <vector>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "hsm/hsm.h"
#include "hsm/key_objects.h"
#include "hsm/labels.h"

namespace sekds::hsm {

inline constexpr const char* kDirectReleaseApplication = "sekds/direct-release";

struct MasterKeySetSpec {
  std::string issuer;
  unsigned kvn = 0;                         // 1..255
  gp::KeyType key_type = gp::KeyType::Aes128;
  bool shared = false;                      // one key 'all' for ENC, MAC and DEK
  gp::DiversificationMethod method = gp::DiversificationMethod::Kdf3;
  // The KDF input layout for kdf3/scp03kdf (no parts: the method's default layout). The
  // ceremony records the chaining values this layout needs (ceremony_values.h).
  gp::KdfLayout layout = {};
  gp::DiversificationScheme scheme() const;
};

struct MasterKeySet {
  MasterKeyRef ref;
  gp::KcvAlg kcv_alg = gp::KcvAlg::AesGp;  // GP convention of the key type
  gp::Bytes kcv_enc, kcv_mac, kcv_dek;     // equal when shared
  const gp::Bytes& kcv(gp::KeyRole r) const noexcept;
};

class MasterKeyStore {
 public:
  explicit MasterKeyStore(Hsm& hsm) : hsm_(hsm) {}

  // `components`: one KeyComponents when spec.shared, else three (ENC, MAC, DEK). All KCVs are
  // checked (each component first, then the combination) before anything is created; the
  // in-HSM KCV of each new object is checked again. On any failure nothing is left behind.
  // Throws HsmError(ObjectExists) if a label is taken: labels are never reused.
  MasterKeySet import_components(const MasterKeySetSpec& spec, const std::vector<KeyComponents>& components);

  // C_GenerateKey inside the HSM; the KCVs and masks are computed in the HSM, once, by this
  // ceremony (ceremony_encrypt_block).
  MasterKeySet generate(const MasterKeySetSpec& spec);

  // The GP-convention KCV of the master `label`, as its ceremony recorded it beside the key
  // (computing it again would need a readable derivation). HsmError(ObjectNotFound) if the
  // master or its record is missing.
  gp::Bytes kcv(const std::string& label);

 private:
  Hsm& hsm_;
};

}  // namespace sekds::hsm
