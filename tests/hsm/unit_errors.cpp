// Every CKR_ value of the PKCS#11 header has its name; outages are classified.
#include <boost/test/unit_test.hpp>

#include <utility>
#include <vector>

#include "hsm/error.h"

using namespace sekds::hsm;

BOOST_AUTO_TEST_SUITE(error_names)

BOOST_AUTO_TEST_CASE(every_header_ckr_has_its_name) {
  // Generated from the p11-kit header: every #define CKR_* except CKR_VENDOR_DEFINED.
#define N(x) {x, #x}
  const std::vector<std::pair<CK_RV, const char*>> all = {
      N(CKR_OK),
      N(CKR_CANCEL),
      N(CKR_HOST_MEMORY),
      N(CKR_SLOT_ID_INVALID),
      N(CKR_GENERAL_ERROR),
      N(CKR_FUNCTION_FAILED),
      N(CKR_ARGUMENTS_BAD),
      N(CKR_NO_EVENT),
      N(CKR_NEED_TO_CREATE_THREADS),
      N(CKR_CANT_LOCK),
      N(CKR_ATTRIBUTE_READ_ONLY),
      N(CKR_ATTRIBUTE_SENSITIVE),
      N(CKR_ATTRIBUTE_TYPE_INVALID),
      N(CKR_ATTRIBUTE_VALUE_INVALID),
      N(CKR_ACTION_PROHIBITED),
      N(CKR_DATA_INVALID),
      N(CKR_DATA_LEN_RANGE),
      N(CKR_DEVICE_ERROR),
      N(CKR_DEVICE_MEMORY),
      N(CKR_DEVICE_REMOVED),
      N(CKR_ENCRYPTED_DATA_INVALID),
      N(CKR_ENCRYPTED_DATA_LEN_RANGE),
      N(CKR_FUNCTION_CANCELED),
      N(CKR_FUNCTION_NOT_PARALLEL),
      N(CKR_FUNCTION_NOT_SUPPORTED),
      N(CKR_KEY_HANDLE_INVALID),
      N(CKR_KEY_SIZE_RANGE),
      N(CKR_KEY_TYPE_INCONSISTENT),
      N(CKR_KEY_NOT_NEEDED),
      N(CKR_KEY_CHANGED),
      N(CKR_KEY_NEEDED),
      N(CKR_KEY_INDIGESTIBLE),
      N(CKR_KEY_FUNCTION_NOT_PERMITTED),
      N(CKR_KEY_NOT_WRAPPABLE),
      N(CKR_KEY_UNEXTRACTABLE),
      N(CKR_MECHANISM_INVALID),
      N(CKR_MECHANISM_PARAM_INVALID),
      N(CKR_OBJECT_HANDLE_INVALID),
      N(CKR_OPERATION_ACTIVE),
      N(CKR_OPERATION_NOT_INITIALIZED),
      N(CKR_PIN_INCORRECT),
      N(CKR_PIN_INVALID),
      N(CKR_PIN_LEN_RANGE),
      N(CKR_PIN_EXPIRED),
      N(CKR_PIN_LOCKED),
      N(CKR_SESSION_CLOSED),
      N(CKR_SESSION_COUNT),
      N(CKR_SESSION_HANDLE_INVALID),
      N(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
      N(CKR_SESSION_READ_ONLY),
      N(CKR_SESSION_EXISTS),
      N(CKR_SESSION_READ_ONLY_EXISTS),
      N(CKR_SESSION_READ_WRITE_SO_EXISTS),
      N(CKR_SIGNATURE_INVALID),
      N(CKR_SIGNATURE_LEN_RANGE),
      N(CKR_TEMPLATE_INCOMPLETE),
      N(CKR_TEMPLATE_INCONSISTENT),
      N(CKR_TOKEN_NOT_PRESENT),
      N(CKR_TOKEN_NOT_RECOGNIZED),
      N(CKR_TOKEN_WRITE_PROTECTED),
      N(CKR_UNWRAPPING_KEY_SIZE_RANGE),
      N(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT),
      N(CKR_USER_ALREADY_LOGGED_IN),
      N(CKR_USER_NOT_LOGGED_IN),
      N(CKR_USER_PIN_NOT_INITIALIZED),
      N(CKR_USER_TYPE_INVALID),
      N(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
      N(CKR_USER_TOO_MANY_TYPES),
      N(CKR_WRAPPED_KEY_INVALID),
      N(CKR_WRAPPED_KEY_LEN_RANGE),
      N(CKR_WRAPPING_KEY_HANDLE_INVALID),
      N(CKR_WRAPPING_KEY_SIZE_RANGE),
      N(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
      N(CKR_RANDOM_SEED_NOT_SUPPORTED),
      N(CKR_RANDOM_NO_RNG),
      N(CKR_DOMAIN_PARAMS_INVALID),
      N(CKR_CURVE_NOT_SUPPORTED),
      N(CKR_BUFFER_TOO_SMALL),
      N(CKR_SAVED_STATE_INVALID),
      N(CKR_INFORMATION_SENSITIVE),
      N(CKR_STATE_UNSAVEABLE),
      N(CKR_CRYPTOKI_NOT_INITIALIZED),
      N(CKR_CRYPTOKI_ALREADY_INITIALIZED),
      N(CKR_MUTEX_BAD),
      N(CKR_MUTEX_NOT_LOCKED),
      N(CKR_NEW_PIN_MODE),
      N(CKR_NEXT_OTP),
      N(CKR_EXCEEDED_MAX_ITERATIONS),
      N(CKR_FIPS_SELF_TEST_FAILED),
      N(CKR_LIBRARY_LOAD_FAILED),
      N(CKR_PIN_TOO_WEAK),
      N(CKR_PUBLIC_KEY_INVALID),
      N(CKR_FUNCTION_REJECTED),
  };
#undef N
  BOOST_TEST(all.size() > 90u);
  for (const auto& [rv, name] : all) BOOST_TEST(ckr_name(rv) == name);
}

BOOST_AUTO_TEST_CASE(vendor_and_unknown_values) {
  BOOST_TEST(ckr_name(CKR_VENDOR_DEFINED + 0x12) == "CKR_VENDOR_DEFINED+0x12");
  BOOST_TEST(ckr_name(0x4242) == "CKR_0x4242");
  BOOST_TEST(ckr_name(0x201) == "CKR_TOKEN_RESOURCE_EXCEEDED");  // PKCS#11 3.0
}

BOOST_AUTO_TEST_CASE(outage_classification) {
  for (CK_RV rv : {CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
                   CKR_SESSION_CLOSED, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_USER_NOT_LOGGED_IN})
    BOOST_TEST(ckr_means_unavailable(rv), ckr_name(rv));
  for (CK_RV rv : {CKR_KEY_UNEXTRACTABLE, CKR_KEY_NOT_WRAPPABLE, CKR_PIN_INCORRECT, CKR_MECHANISM_INVALID,
                   CKR_GENERAL_ERROR, CKR_OBJECT_HANDLE_INVALID})
    BOOST_TEST(!ckr_means_unavailable(rv), ckr_name(rv));
  BOOST_TEST(ckr_is_pin_error(CKR_PIN_INCORRECT));
  BOOST_TEST(ckr_is_pin_error(CKR_PIN_LOCKED));
  BOOST_TEST(!ckr_is_pin_error(CKR_DEVICE_ERROR));
}

BOOST_AUTO_TEST_CASE(hsm_error_carries_name_and_flag) {
  HsmError e("C_WrapKey", CKR_KEY_UNEXTRACTABLE, "master");
  BOOST_TEST(e.code() == HsmErrc::Pkcs11);
  BOOST_TEST(e.name() == "CKR_KEY_UNEXTRACTABLE");
  BOOST_TEST(e.rv() == CKR_KEY_UNEXTRACTABLE);
  BOOST_TEST(!e.unavailable());
  BOOST_TEST(std::string(e.what()) == "C_WrapKey: CKR_KEY_UNEXTRACTABLE (0x6A): master");

  HsmError gone("C_EncryptInit", CKR_DEVICE_REMOVED);
  BOOST_TEST(gone.unavailable());

  HsmError u = HsmError::as_unavailable(HsmError("C_GetTokenInfo", CKR_GENERAL_ERROR), "token check");
  BOOST_TEST(u.unavailable());
  BOOST_TEST(u.name() == "CKR_GENERAL_ERROR");
  BOOST_TEST(u.rv() == CKR_GENERAL_ERROR);
  BOOST_TEST(std::string(u.what()).rfind("HSM unavailable: C_GetTokenInfo: CKR_GENERAL_ERROR", 0) == 0);
  // Not prefixed twice.
  HsmError uu = HsmError::as_unavailable(u);
  BOOST_TEST(std::string(uu.what()).find("HSM unavailable: HSM unavailable") == std::string::npos);

  HsmError m(HsmErrc::ModuleLoad, "cannot load", true);
  BOOST_TEST(m.name() == "ModuleLoad");
  BOOST_TEST(m.unavailable());
}

BOOST_AUTO_TEST_SUITE_END()
