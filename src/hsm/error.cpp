#include "hsm/error.h"

#include <cstdio>
#include <ostream>

namespace sekds::hsm {

const char* hsm_errc_name(HsmErrc e) noexcept {
  switch (e) {
    case HsmErrc::Pkcs11: return "Pkcs11";
    case HsmErrc::ModuleLoad: return "ModuleLoad";
    case HsmErrc::TokenNotFound: return "TokenNotFound";
    case HsmErrc::TokenAmbiguous: return "TokenAmbiguous";
    case HsmErrc::BadUri: return "BadUri";
    case HsmErrc::PinSource: return "PinSource";
    case HsmErrc::LoginRefused: return "LoginRefused";
    case HsmErrc::ObjectNotFound: return "ObjectNotFound";
    case HsmErrc::ObjectExists: return "ObjectExists";
    case HsmErrc::KcvMismatch: return "KcvMismatch";
    case HsmErrc::InvalidArgument: return "InvalidArgument";
    case HsmErrc::Unsupported: return "Unsupported";
  }
  return "Unknown";
}

std::ostream& operator<<(std::ostream& os, HsmErrc e) { return os << hsm_errc_name(e); }

namespace {

// PKCS#11 v2.40 return values (all of them), plus those added by v3.0/3.1.
const char* known_ckr(CK_RV rv) noexcept {
  switch (rv) {
    case 0x000: return "CKR_OK";
    case 0x001: return "CKR_CANCEL";
    case 0x002: return "CKR_HOST_MEMORY";
    case 0x003: return "CKR_SLOT_ID_INVALID";
    case 0x005: return "CKR_GENERAL_ERROR";
    case 0x006: return "CKR_FUNCTION_FAILED";
    case 0x007: return "CKR_ARGUMENTS_BAD";
    case 0x008: return "CKR_NO_EVENT";
    case 0x009: return "CKR_NEED_TO_CREATE_THREADS";
    case 0x00A: return "CKR_CANT_LOCK";
    case 0x010: return "CKR_ATTRIBUTE_READ_ONLY";
    case 0x011: return "CKR_ATTRIBUTE_SENSITIVE";
    case 0x012: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case 0x013: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case 0x01B: return "CKR_ACTION_PROHIBITED";
    case 0x020: return "CKR_DATA_INVALID";
    case 0x021: return "CKR_DATA_LEN_RANGE";
    case 0x030: return "CKR_DEVICE_ERROR";
    case 0x031: return "CKR_DEVICE_MEMORY";
    case 0x032: return "CKR_DEVICE_REMOVED";
    case 0x035: return "CKR_AEAD_DECRYPT_FAILED";
    case 0x040: return "CKR_ENCRYPTED_DATA_INVALID";
    case 0x041: return "CKR_ENCRYPTED_DATA_LEN_RANGE";
    case 0x050: return "CKR_FUNCTION_CANCELED";
    case 0x051: return "CKR_FUNCTION_NOT_PARALLEL";
    case 0x054: return "CKR_FUNCTION_NOT_SUPPORTED";
    case 0x060: return "CKR_KEY_HANDLE_INVALID";
    case 0x062: return "CKR_KEY_SIZE_RANGE";
    case 0x063: return "CKR_KEY_TYPE_INCONSISTENT";
    case 0x064: return "CKR_KEY_NOT_NEEDED";
    case 0x065: return "CKR_KEY_CHANGED";
    case 0x066: return "CKR_KEY_NEEDED";
    case 0x067: return "CKR_KEY_INDIGESTIBLE";
    case 0x068: return "CKR_KEY_FUNCTION_NOT_PERMITTED";
    case 0x069: return "CKR_KEY_NOT_WRAPPABLE";
    case 0x06A: return "CKR_KEY_UNEXTRACTABLE";
    case 0x070: return "CKR_MECHANISM_INVALID";
    case 0x071: return "CKR_MECHANISM_PARAM_INVALID";
    case 0x082: return "CKR_OBJECT_HANDLE_INVALID";
    case 0x090: return "CKR_OPERATION_ACTIVE";
    case 0x091: return "CKR_OPERATION_NOT_INITIALIZED";
    case 0x0A0: return "CKR_PIN_INCORRECT";
    case 0x0A1: return "CKR_PIN_INVALID";
    case 0x0A2: return "CKR_PIN_LEN_RANGE";
    case 0x0A3: return "CKR_PIN_EXPIRED";
    case 0x0A4: return "CKR_PIN_LOCKED";
    case 0x0B0: return "CKR_SESSION_CLOSED";
    case 0x0B1: return "CKR_SESSION_COUNT";
    case 0x0B3: return "CKR_SESSION_HANDLE_INVALID";
    case 0x0B4: return "CKR_SESSION_PARALLEL_NOT_SUPPORTED";
    case 0x0B5: return "CKR_SESSION_READ_ONLY";
    case 0x0B6: return "CKR_SESSION_EXISTS";
    case 0x0B7: return "CKR_SESSION_READ_ONLY_EXISTS";
    case 0x0B8: return "CKR_SESSION_READ_WRITE_SO_EXISTS";
    case 0x0C0: return "CKR_SIGNATURE_INVALID";
    case 0x0C1: return "CKR_SIGNATURE_LEN_RANGE";
    case 0x0D0: return "CKR_TEMPLATE_INCOMPLETE";
    case 0x0D1: return "CKR_TEMPLATE_INCONSISTENT";
    case 0x0E0: return "CKR_TOKEN_NOT_PRESENT";
    case 0x0E1: return "CKR_TOKEN_NOT_RECOGNIZED";
    case 0x0E2: return "CKR_TOKEN_WRITE_PROTECTED";
    case 0x0F0: return "CKR_UNWRAPPING_KEY_HANDLE_INVALID";
    case 0x0F1: return "CKR_UNWRAPPING_KEY_SIZE_RANGE";
    case 0x0F2: return "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT";
    case 0x100: return "CKR_USER_ALREADY_LOGGED_IN";
    case 0x101: return "CKR_USER_NOT_LOGGED_IN";
    case 0x102: return "CKR_USER_PIN_NOT_INITIALIZED";
    case 0x103: return "CKR_USER_TYPE_INVALID";
    case 0x104: return "CKR_USER_ANOTHER_ALREADY_LOGGED_IN";
    case 0x105: return "CKR_USER_TOO_MANY_TYPES";
    case 0x110: return "CKR_WRAPPED_KEY_INVALID";
    case 0x112: return "CKR_WRAPPED_KEY_LEN_RANGE";
    case 0x113: return "CKR_WRAPPING_KEY_HANDLE_INVALID";
    case 0x114: return "CKR_WRAPPING_KEY_SIZE_RANGE";
    case 0x115: return "CKR_WRAPPING_KEY_TYPE_INCONSISTENT";
    case 0x120: return "CKR_RANDOM_SEED_NOT_SUPPORTED";
    case 0x121: return "CKR_RANDOM_NO_RNG";
    case 0x130: return "CKR_DOMAIN_PARAMS_INVALID";
    case 0x140: return "CKR_CURVE_NOT_SUPPORTED";
    case 0x150: return "CKR_BUFFER_TOO_SMALL";
    case 0x160: return "CKR_SAVED_STATE_INVALID";
    case 0x170: return "CKR_INFORMATION_SENSITIVE";
    case 0x180: return "CKR_STATE_UNSAVEABLE";
    case 0x190: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case 0x191: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    case 0x1A0: return "CKR_MUTEX_BAD";
    case 0x1A1: return "CKR_MUTEX_NOT_LOCKED";
    case 0x1B0: return "CKR_NEW_PIN_MODE";
    case 0x1B1: return "CKR_NEXT_OTP";
    case 0x1C0: return "CKR_EXCEEDED_MAX_ITERATIONS";
    case 0x1C1: return "CKR_FIPS_SELF_TEST_FAILED";
    case 0x1C2: return "CKR_LIBRARY_LOAD_FAILED";
    case 0x1C3: return "CKR_PIN_TOO_WEAK";
    case 0x1C4: return "CKR_PUBLIC_KEY_INVALID";
    case 0x200: return "CKR_FUNCTION_REJECTED";
    case 0x201: return "CKR_TOKEN_RESOURCE_EXCEEDED";
    case 0x202: return "CKR_OPERATION_CANCEL_FAILED";
    case 0x203: return "CKR_KEY_EXHAUSTED";
    case 0x204: return "CKR_PENDING";
    case 0x205: return "CKR_SESSION_ASYNC_NOT_SUPPORTED";
    case 0x206: return "CKR_SEED_RANDOM_REQUIRED";
    case 0x207: return "CKR_OPERATION_NOT_VALIDATED";
    case 0x208: return "CKR_TOKEN_NOT_INITIALIZED";
    case 0x209: return "CKR_PARAMETER_SIZE_MISMATCH";
    default: return nullptr;
  }
}

std::string hex_rv(CK_RV rv) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%lX", static_cast<unsigned long>(rv));
  return buf;
}

}  // namespace

std::string ckr_name(CK_RV rv) {
  if (const char* n = known_ckr(rv)) return n;
  if (rv >= CKR_VENDOR_DEFINED) return "CKR_VENDOR_DEFINED+" + hex_rv(rv - CKR_VENDOR_DEFINED);
  return "CKR_" + hex_rv(rv);
}

bool ckr_means_unavailable(CK_RV rv) noexcept {
  switch (rv) {
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_MEMORY:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_TOKEN_NOT_RECOGNIZED:
    case CKR_SLOT_ID_INVALID:
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    case CKR_USER_NOT_LOGGED_IN:  // our login is gone (another logout, token re-plugged)
      return true;
    default:
      return false;
  }
}

bool ckr_is_pin_error(CK_RV rv) noexcept {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

HsmError::HsmError(const char* function, CK_RV rv, const std::string& context)
    : std::runtime_error(std::string(function) + ": " + ckr_name(rv) + " (" + hex_rv(rv) + ")" +
                         (context.empty() ? std::string() : ": " + context)),
      code_(HsmErrc::Pkcs11),
      rv_(rv),
      name_(ckr_name(rv)),
      unavailable_(ckr_means_unavailable(rv)) {}

HsmError::HsmError(HsmErrc code, const std::string& what, bool unavailable)
    : std::runtime_error(what), code_(code), name_(hsm_errc_name(code)), unavailable_(unavailable) {}

HsmError HsmError::as_unavailable(const HsmError& cause, const std::string& detail) {
  std::string what = cause.what();
  if (what.rfind("HSM unavailable: ", 0) != 0) what = "HSM unavailable: " + what;
  if (!detail.empty()) what += "; " + detail;
  HsmError e(cause.code_, what, true);
  e.rv_ = cause.rv_;
  e.name_ = cause.name_;
  return e;
}

}  // namespace sekds::hsm
