// Status words (SW1 SW2) of ISO/IEC 7816-4 and GlobalPlatform: a stable short name for
// logs, faults and tests ("SW_SECURITY_STATUS_NOT_SATISFIED") and a phrase for people.
//
// Families whose SW2 is a parameter share one name and put the parameter in the phrase:
// 61xx (bytes remaining), 6Cxx (exact Le), 63Cx (retries left). Where GlobalPlatform gives
// an ISO status word a command-specific meaning (6300 on EXTERNAL AUTHENTICATE, 6A88 on
// INITIALIZE UPDATE, 6283 on SELECT ...), the phrase says both.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

#include "gp/apdu.h"

namespace sekds::gp {

inline constexpr std::uint16_t kSwNoError = 0x9000;
inline constexpr std::uint16_t kSwAuthenticationFailed = 0x6300;
inline constexpr std::uint16_t kSwWrongLength = 0x6700;
inline constexpr std::uint16_t kSwSecurityStatusNotSatisfied = 0x6982;
inline constexpr std::uint16_t kSwConditionsNotSatisfied = 0x6985;
inline constexpr std::uint16_t kSwWrongData = 0x6A80;
inline constexpr std::uint16_t kSwFileNotFound = 0x6A82;
inline constexpr std::uint16_t kSwIncorrectP1P2 = 0x6A86;
inline constexpr std::uint16_t kSwReferencedDataNotFound = 0x6A88;
inline constexpr std::uint16_t kSwInsNotSupported = 0x6D00;
inline constexpr std::uint16_t kSwClaNotSupported = 0x6E00;

enum class SwCategory {
  Success,         // 9000, 61xx
  Warning,         // 62xx, 63xx (the command completed)
  ExecutionError,  // 64xx-66xx
  CheckingError,   // 67xx-6Fxx, and the GP 94xx codes
  Unknown,         // anything else (9xxx proprietary ...)
};

// Short name; "SW_UNKNOWN" for a status word this table does not know.
const char* sw_name(std::uint16_t sw) noexcept;
// Human phrase, with the parameter of a family ("0x12 more response bytes available").
std::string sw_phrase(std::uint16_t sw);
// "6982 SW_SECURITY_STATUS_NOT_SATISFIED: security status not satisfied"
std::string sw_describe(std::uint16_t sw);
bool sw_is_known(std::uint16_t sw) noexcept;
SwCategory sw_category(std::uint16_t sw) noexcept;
// ISO 7816-4 "normal processing": 9000 and 61xx (61xx: more data waits for GET RESPONSE).
bool sw_is_normal_processing(std::uint16_t sw) noexcept;
// GP secure messaging: 9000 and the warnings 62xx / 63xx are success; everything else is an
// error status, and a response with an error status carries neither data nor R-MAC (Amd D 6.2.5).
bool sw_is_success(std::uint16_t sw) noexcept;

// A card answered a command with a status word the caller did not accept.
class StatusWordError : public std::runtime_error {
 public:
  StatusWordError(std::uint16_t sw, std::string_view command);
  std::uint16_t sw() const noexcept { return sw_; }
  const char* name() const noexcept { return sw_name(sw_); }

 private:
  std::uint16_t sw_;
};

// Throws StatusWordError("GET DATA 'CF': 6A88 SW_REFERENCED_DATA_NOT_FOUND: ...") unless
// the response's status word is one of `accepted`.
void expect_sw(const ResponseApdu& r, std::string_view command, std::initializer_list<std::uint16_t> accepted = {kSwNoError});

}  // namespace sekds::gp
