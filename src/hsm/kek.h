// Key-exchange keys (KEKs).
//
// Server side (TTP token): a KEK per TSM and index, label sekds/kek/<tsm>/<index>, created in a
// ceremony from the combined component value (the admin CLI generates the components with
// Hsm::generate_random and hands them to custodians). It is an AES-128/192/256 token object,
// CKA_TRUSTED=true — which only the SO can set, and an SO session can only create PUBLIC
// objects, so the Hsm must be logged in as SO — CKA_WRAP=true, CKA_UNWRAP=false, no other use,
// sensitive and never extractable (made with materialise_key's derive trick, which SoftHSM
// accepts under SO with CKA_TRUSTED in the derive template), and CKA_ALLOWED_MECHANISMS =
// {CKM_AES_KEY_WRAP}: without it any session could wrap a key of its choosing with CKM_AES_CBC
// and read AES(KEK, x) — an encryption oracle. A USER session can then wrap derived keys
// (CKA_WRAP_WITH_TRUSTED) with it.
//
// Its KCV is recorded by the ceremony, never computed again from the key (that would need the
// oracle above): beside the KEK a non-modifiable CKO_DATA record (same label, CKA_APPLICATION
// "sekds/kek-check") holds the KCV and the RFC 3394 wrap, computed from the value during the
// ceremony, of a fixed public check key. kek_kcv() wraps that check key in the HSM and compares:
// only a key wrap — what the KEK is for — leaves the HSM.
//
// TSM side (the TSM's own token): import_unwrap_kek keeps its copy (CKA_UNWRAP=true,
// CKA_WRAP=false) and unwrap_key turns a released key back into plaintext for SCP.
//
// KCVs of KEKs use the AES GP convention (first 3 bytes of AES-ECB(KEK, 16 x 01)).
#pragma once

#include <string>

#include "gp/bytes.h"
#include "gp/key_type.h"
#include "hsm/hsm.h"

namespace sekds::hsm {

inline constexpr const char* kKekCheckApplication = "sekds/kek-check";

class KekStore {
 public:
  explicit KekStore(Hsm& hsm) : hsm_(hsm) {}

  // Creates the trusted wrapping KEK `label` (see labels.h: kek_label) holding `value`
  // (16, 24 or 32 bytes). Needs an SO login. The in-HSM KCV is checked against the value's;
  // returns the KCV. Throws HsmError(ObjectExists) if the label is taken.
  gp::Bytes create_kek(const std::string& label, gp::ByteView value);

  // The KCV recorded for a wrapping KEK, once the KEK in the HSM is shown to be the recorded
  // key (its wrap of the check key matches the record): HsmError(KcvMismatch) if not,
  // HsmError(ObjectNotFound) if the KEK or its record is missing. A KEK without CKA_WRAP (a
  // TSM-side copy) cannot be checked in the HSM: HsmError(Unsupported); keep the KCV
  // import_unwrap_kek returned.
  gp::Bytes kek_kcv(const std::string& label);

  // TSM side: stores `value` as the unwrap-only KEK `label` (private token object for a USER
  // login, never extractable). Returns its KCV (computed from the value).
  gp::Bytes import_unwrap_kek(const std::string& label, gp::ByteView value);

  // TSM side: C_UnwrapKey (CKM_AES_KEY_WRAP) of `wrapped` into a temporary, readable session
  // object, read and destroyed. The TSM needs the plaintext to run SCP02/SCP03 itself.
  gp::SecureBytes unwrap_key(const std::string& kek_label, gp::ByteView wrapped, gp::KeyType type);

 private:
  gp::SecureBytes unwrap_raw(const std::string& kek_label, gp::ByteView wrapped, gp::KeyType type);
  Hsm& hsm_;
};

}  // namespace sekds::hsm
