// Issuer master key sets (issuer x key set version) in the token: one shared key or one per
// role (ENC, MAC, DEK), imported from XOR components or generated inside the HSM.
//
// Every master is a private token object, CKA_SENSITIVE=true, CKA_EXTRACTABLE=false (and, by
// construction, ALWAYS_SENSITIVE and NEVER_EXTRACTABLE — see materialise_key), CKA_DERIVE=true
// and nothing else: no encrypt/decrypt/wrap/unwrap/sign/verify. Everything the service needs
// from a master — VISA2/EMV/KDF3/SCP03-KDF card keys, the CMAC subkey, its KCV — is done with
// C_DeriveKey (see key_release.h). Labels: sekds/mk/<issuer>/<kvn>/<enc|mac|dek|all>.
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

  // C_GenerateKey inside the HSM; the KCVs are computed in the HSM.
  MasterKeySet generate(const MasterKeySetSpec& spec);

  // The GP-convention KCV of the key object `label`, computed in the HSM.
  gp::Bytes kcv(const std::string& label);

 private:
  Hsm& hsm_;
};

}  // namespace sekds::hsm
