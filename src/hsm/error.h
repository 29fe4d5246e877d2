// Errors of the HSM layer. Every PKCS#11 return value keeps its CKR_ name; every error says
// whether the HSM is *unavailable* (a condition a later reconnect may cure: token gone, device
// error, module not loadable) or the request itself failed (wrong key, refused operation).
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>

#include "hsm/pkcs11.h"

namespace sekds::hsm {

enum class HsmErrc {
  Pkcs11,           // a CK_RV other than CKR_OK; rv() and name() tell which
  ModuleLoad,       // dlopen / C_GetFunctionList failed
  TokenNotFound,    // no token matches the configured label or URI
  TokenAmbiguous,   // more than one token matches
  BadUri,           // a pkcs11: URI that cannot be parsed or uses an unsupported attribute
  PinSource,        // PIN file / variable missing, empty, or with unsafe permissions
  LoginRefused,     // C_Login failed with a PIN error; never retried (retries can lock the PIN)
  ObjectNotFound,   // no object with the label
  ObjectExists,     // an object with the label exists already (labels are never reused)
  KcvMismatch,      // a component or combined key check value does not match
  InvalidArgument,  // a request that cannot be served as given (lengths, types, names)
  Unsupported,      // a valid request this layer or token does not offer
};

const char* hsm_errc_name(HsmErrc e) noexcept;
std::ostream& operator<<(std::ostream& os, HsmErrc e);

// "CKR_PIN_INCORRECT"; vendor codes as "CKR_VENDOR_DEFINED+0x..."; unknown as "CKR_0x...".
std::string ckr_name(CK_RV rv);
// Return values that mean the device, token, session or library state is gone.
bool ckr_means_unavailable(CK_RV rv) noexcept;
// PIN errors on C_Login: retrying with the same PIN can only lock the token.
bool ckr_is_pin_error(CK_RV rv) noexcept;

class HsmError : public std::runtime_error {
 public:
  // A failed PKCS#11 call: "C_WrapKey: CKR_KEY_UNEXTRACTABLE (0x6A)[: context]".
  HsmError(const char* function, CK_RV rv, const std::string& context = {});
  HsmError(HsmErrc code, const std::string& what, bool unavailable = false);

  HsmErrc code() const noexcept { return code_; }
  CK_RV rv() const noexcept { return rv_; }  // CKR_OK unless code() == Pkcs11
  // The CKR_ name for PKCS#11 errors, else the HsmErrc name.
  const std::string& name() const noexcept { return name_; }
  bool unavailable() const noexcept { return unavailable_; }

  // The same error (same code, rv and name) marked as an outage, its message prefixed with
  // "HSM unavailable: " and followed by `detail` if given.
  static HsmError as_unavailable(const HsmError& cause, const std::string& detail = {});

 private:
  HsmErrc code_;
  CK_RV rv_ = CKR_OK;
  std::string name_;
  bool unavailable_;
};

// Throws HsmError(function, rv) unless rv == CKR_OK.
inline void check_rv(CK_RV rv, const char* function, const std::string& context = {}) {
  if (rv != CKR_OK) throw HsmError(function, rv, context);
}

}  // namespace sekds::hsm
