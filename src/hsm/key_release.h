// The service's hot path: one card's static keys derived from the issuer's masters INSIDE the
// HSM, KCV'd in the HSM, wrapped under the TSM's KEK (CKM_AES_KEY_WRAP, RFC 3394) and destroyed.
//
// Derivation (data from gp/diversification.h, so the software reference and the HSM agree):
// - VISA2 / EMV CPS 1.1: C_DeriveKey(CKM_DES3_ECB_ENCRYPT_DATA, des_derivation_data) -> DES2.
// - CMAC-based KDFs (KDF3 and any SCP03-KDF layout): the card key block i is
//   CMAC(MK, M_i), M_i = layout.input(kdd, role, i, L). CMAC is CBC-MAC with the last block
//   masked by K1 (or padded and masked by K2), so
//       CMAC(MK, M) = E_MK(C_{n-1} xor M_n*),   C_0 = 0,  C_j = E_MK(C_{j-1} xor M_j).
//   The LAST encryption — the one that yields key material — always happens inside the HSM:
//   one C_DeriveKey(CKM_AES_ECB_ENCRYPT_DATA) over (C_{n-1} ^ M_n*)_1 || (..)_2 gives the whole
//   16/24/32-byte card key as a session object. K1/K2 come from L = E_MK(0^128) and, for
//   multi-block layouts, C_{n-1} from the prefix M_1..M_{n-1}; both were RECORDED by the
//   ceremony that made the master (ceremony_values.h) — a release never derives a readable
//   value from a master (key_policy.h says why). So a layout must keep the KDD in its last
//   block (the standard SCP03 layout does: constants, L, i, then KDD); the ceremony refuses
//   one that does not. Single-block layouts (KDF3: 16-byte input) need only K1/K2. The masks
//   are not keys (the card key needs one more encryption under MK) but they are still held in
//   SecureBytes, wiped, and never logged.
//   This replaces the "C_Sign(CKM_AES_CMAC) then C_CreateObject" route: the master needs no
//   CKA_SIGN, and the card key never exists in host memory.
// - none: the card key is the master itself, released through its direct-release data
//   (see master_keys.h): C_DeriveKey over D gives E_K(D) = K.
// Derived keys are session objects (sensitive, CKA_WRAP_WITH_TRUSTED, extractable only to be
// wrapped, CKA_ENCRYPT/CKA_SIGN only for the KCV), destroyed right after wrapping on every path.
// SoftHSM sets DES parity on derived DES keys; KCVs are unaffected.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"
#include "hsm/hsm.h"
#include "hsm/labels.h"

namespace sekds::hsm {

struct WrappedKey {
  gp::Bytes wrapped;  // RFC 3394 AES key wrap of the card key under the KEK
  gp::Bytes kcv;      // 3 bytes, in the requested convention
};

struct ReleasedKeys {
  WrappedKey enc, mac, dek;
  const WrappedKey& of(gp::KeyRole r) const noexcept;
};

class KeyRelease {
 public:
  explicit KeyRelease(Hsm& hsm) : hsm_(hsm) {}

  // K-ENC, K-MAC and K-DEK of the card with this KDD, wrapped under `kek_label`. `card_key_type`
  // must fit the method (DES2 for VISA2/EMV; for KDF methods and none, the masters' own type).
  ReleasedKeys derive_and_wrap(const MasterKeyRef& masters, const gp::DiversificationScheme& scheme,
                               gp::KeyType card_key_type, gp::KcvAlg kcv_alg, gp::ByteView kdd,
                               const std::string& kek_label);

  // Drops the cached per-master values (the ceremony's record, CMAC subkeys, handles).
  void forget();

 private:
  struct MasterInfo;
  std::shared_ptr<const MasterInfo> master_info(Session& s, const std::string& label);
  static const gp::SecureBytes& chaining_value(const MasterInfo& m, gp::ByteView prefix);
  // Pure: everything it needs from the master was recorded by the ceremony.
  static gp::SecureBytes derivation_data(const MasterInfo& m, const gp::DiversificationScheme& scheme,
                                  gp::KeyType card_key_type, gp::ByteView kdd, gp::KeyRole role);
  WrappedKey release_one(Session& s, const MasterInfo& m, const gp::DiversificationScheme& scheme,
                         gp::KeyType card_key_type, gp::KcvAlg kcv_alg, gp::ByteView kdd, gp::KeyRole role,
                         CK_OBJECT_HANDLE kek);

  Hsm& hsm_;
  std::mutex mu_;
  std::uint64_t epoch_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const MasterInfo>> masters_;
};

}  // namespace sekds::hsm
