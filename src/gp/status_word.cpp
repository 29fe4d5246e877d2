#include "gp/status_word.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace sekds::gp {

namespace {

struct Entry {
  std::uint16_t sw;
  const char* name;
  const char* phrase;
};

// ISO/IEC 7816-4:2013 §5.6 tables 5-6, GlobalPlatform Card Specification v2.3.1 §11
// (the error conditions of each command) and Amendment D (SCP03). Sorted by sw.
constexpr std::array kTable{
    Entry{0x6200, "SW_WARNING_STATE_UNCHANGED", "warning, no information given, non-volatile memory unchanged"},
    Entry{0x6281, "SW_PART_OF_DATA_CORRUPTED", "part of the returned data may be corrupted"},
    Entry{0x6282, "SW_END_OF_DATA", "end of file or record reached before reading Ne bytes"},
    Entry{0x6283, "SW_SELECTED_FILE_INVALIDATED",
          "selected file or application invalidated (GP SELECT: card life cycle is CARD_LOCKED or the application is locked)"},
    Entry{0x6284, "SW_FCI_NOT_FORMATTED", "file control information not formatted as ISO 7816-4 requires"},
    Entry{0x6285, "SW_SELECTED_FILE_TERMINATED", "selected file in termination state"},
    Entry{0x6300, "SW_AUTHENTICATION_FAILED",
          "warning, no information given, non-volatile memory changed (GP EXTERNAL AUTHENTICATE: host cryptogram verification failed)"},
    Entry{0x6310, "SW_MORE_DATA_AVAILABLE", "more data available (GP GET STATUS: repeat with P2 'next occurrence')"},
    Entry{0x6400, "SW_EXECUTION_ERROR", "execution error, no information given, non-volatile memory unchanged"},
    Entry{0x6438, "SW_EXECUTION_ERROR_38",
          "execution error with card-specific diagnosis '38', non-volatile memory unchanged (seen on LOAD when the CAP file "
          "imports a package or uses a feature the card lacks)"},
    Entry{0x6439, "SW_EXECUTION_ERROR_39",
          "execution error with card-specific diagnosis '39', non-volatile memory unchanged (seen on LOAD/INSTALL; the card "
          "vendor documents its meaning)"},
    Entry{0x6500, "SW_EXECUTION_ERROR_STATE_CHANGED", "execution error, no information given, non-volatile memory changed"},
    Entry{0x6581, "SW_MEMORY_FAILURE", "memory failure (GP: write to non-volatile memory failed)"},
    Entry{0x6700, "SW_WRONG_LENGTH", "wrong length (Lc or Le)"},
    Entry{0x6800, "SW_CLA_FUNCTION_NOT_SUPPORTED", "function in CLA not supported, no information given"},
    Entry{0x6881, "SW_LOGICAL_CHANNEL_NOT_SUPPORTED", "logical channel not supported (or not open)"},
    Entry{0x6882, "SW_SECURE_MESSAGING_NOT_SUPPORTED", "secure messaging not supported"},
    Entry{0x6883, "SW_LAST_COMMAND_EXPECTED", "last command of the chain expected"},
    Entry{0x6884, "SW_COMMAND_CHAINING_NOT_SUPPORTED", "command chaining not supported"},
    Entry{0x6900, "SW_COMMAND_NOT_ALLOWED", "command not allowed, no information given"},
    Entry{0x6981, "SW_COMMAND_INCOMPATIBLE", "command incompatible with file structure"},
    Entry{0x6982, "SW_SECURITY_STATUS_NOT_SATISFIED",
          "security status not satisfied (GP: no secure channel, or its security level is too low)"},
    Entry{0x6983, "SW_AUTHENTICATION_METHOD_BLOCKED", "authentication method blocked"},
    Entry{0x6984, "SW_REFERENCE_DATA_NOT_USABLE", "reference data not usable (GP: referenced data invalidated)"},
    Entry{0x6985, "SW_CONDITIONS_NOT_SATISFIED", "conditions of use not satisfied"},
    Entry{0x6986, "SW_COMMAND_NOT_ALLOWED_NO_EF", "command not allowed (no current EF)"},
    Entry{0x6987, "SW_SM_DATA_OBJECTS_MISSING", "expected secure messaging data objects missing"},
    Entry{0x6988, "SW_SM_DATA_OBJECTS_INCORRECT", "incorrect secure messaging data objects (GP: MAC or cryptogram wrong)"},
    Entry{0x6999, "SW_APPLET_SELECT_FAILED", "applet selection failed (Java Card)"},
    Entry{0x6A80, "SW_WRONG_DATA", "incorrect parameters in the command data field"},
    Entry{0x6A81, "SW_FUNC_NOT_SUPPORTED",
          "function not supported (GP SELECT: card locked or application not selectable)"},
    Entry{0x6A82, "SW_FILE_NOT_FOUND", "file or application not found"},
    Entry{0x6A83, "SW_RECORD_NOT_FOUND", "record not found"},
    Entry{0x6A84, "SW_NOT_ENOUGH_MEMORY", "not enough memory space"},
    Entry{0x6A85, "SW_NC_INCONSISTENT_WITH_TLV", "Nc inconsistent with TLV structure"},
    Entry{0x6A86, "SW_INCORRECT_P1P2", "incorrect parameters P1-P2"},
    Entry{0x6A87, "SW_NC_INCONSISTENT_WITH_P1P2", "Nc inconsistent with parameters P1-P2"},
    Entry{0x6A88, "SW_REFERENCED_DATA_NOT_FOUND",
          "referenced data or reference data not found (GP GET DATA: no such tag; INITIALIZE UPDATE: no such key set version)"},
    Entry{0x6A89, "SW_FILE_ALREADY_EXISTS", "file already exists"},
    Entry{0x6A8A, "SW_DF_NAME_ALREADY_EXISTS", "DF name already exists"},
    Entry{0x6B00, "SW_WRONG_P1P2", "wrong parameters P1-P2"},
    Entry{0x6D00, "SW_INS_NOT_SUPPORTED", "instruction code not supported or invalid"},
    Entry{0x6E00, "SW_CLA_NOT_SUPPORTED", "class not supported"},
    Entry{0x6F00, "SW_NO_PRECISE_DIAGNOSIS", "no precise diagnosis"},
    Entry{0x9000, "SW_NO_ERROR", "success"},
    Entry{0x9484, "SW_ALGORITHM_NOT_SUPPORTED", "algorithm not supported (GP PUT KEY)"},
    Entry{0x9485, "SW_INVALID_KEY_CHECK_VALUE", "invalid key check value (GP PUT KEY)"},
};

static_assert(std::is_sorted(kTable.begin(), kTable.end(), [](const Entry& a, const Entry& b) { return a.sw < b.sw; }));

const Entry* lookup(std::uint16_t sw) noexcept {
  auto it = std::lower_bound(kTable.begin(), kTable.end(), sw, [](const Entry& e, std::uint16_t v) { return e.sw < v; });
  return it != kTable.end() && it->sw == sw ? &*it : nullptr;
}

std::string hex4(std::uint16_t sw) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "%04X", static_cast<unsigned>(sw));
  return buf;
}

std::string hex2(unsigned v) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02X", v & 0xFFu);
  return buf;
}

}  // namespace

const char* sw_name(std::uint16_t sw) noexcept {
  const unsigned sw1 = sw >> 8, sw2 = sw & 0xFF;
  if (sw1 == 0x61) return "SW_BYTES_REMAINING";
  if (sw1 == 0x6C) return "SW_CORRECT_LENGTH";
  if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0) return "SW_COUNTER";
  if (const Entry* e = lookup(sw)) return e->name;
  return "SW_UNKNOWN";
}

std::string sw_phrase(std::uint16_t sw) {
  const unsigned sw1 = sw >> 8, sw2 = sw & 0xFF;
  if (sw1 == 0x61)
    return sw2 == 0 ? std::string("256 or more response bytes available (GET RESPONSE)")
                    : std::to_string(sw2) + " more response bytes available (GET RESPONSE)";
  if (sw1 == 0x6C) return "wrong Le; the exact length is " + std::to_string(sw2 == 0 ? 256 : sw2) + " (resend with that Le)";
  if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0) return "verification failed, " + std::to_string(sw2 & 0x0F) + " retries left";
  if (const Entry* e = lookup(sw)) return e->phrase;
  switch (sw_category(sw)) {
    case SwCategory::Warning: return "warning '" + hex2(sw1) + hex2(sw2) + "' not named by ISO 7816-4 or GlobalPlatform";
    case SwCategory::ExecutionError:
      return "execution error with card-specific diagnosis '" + hex2(sw2) + "'";
    case SwCategory::CheckingError: return "checking error '" + hex2(sw1) + hex2(sw2) + "' not named by ISO 7816-4 or GlobalPlatform";
    default: return "status word not defined by ISO 7816-4 or GlobalPlatform (proprietary)";
  }
}

std::string sw_describe(std::uint16_t sw) { return hex4(sw) + " " + sw_name(sw) + ": " + sw_phrase(sw); }

bool sw_is_known(std::uint16_t sw) noexcept { return std::string_view(sw_name(sw)) != "SW_UNKNOWN"; }

SwCategory sw_category(std::uint16_t sw) noexcept {
  const unsigned sw1 = sw >> 8;
  if (sw == 0x9000 || sw1 == 0x61) return SwCategory::Success;
  if (sw1 == 0x62 || sw1 == 0x63) return SwCategory::Warning;
  if (sw1 >= 0x64 && sw1 <= 0x66) return SwCategory::ExecutionError;
  if ((sw1 >= 0x67 && sw1 <= 0x6F) || sw == 0x9484 || sw == 0x9485) return SwCategory::CheckingError;
  return SwCategory::Unknown;
}

bool sw_is_normal_processing(std::uint16_t sw) noexcept { return sw_category(sw) == SwCategory::Success; }

StatusWordError::StatusWordError(std::uint16_t sw, std::string_view command)
    : std::runtime_error(std::string(command) + ": " + sw_describe(sw)), sw_(sw) {}

void expect_sw(const ResponseApdu& r, std::string_view command, std::initializer_list<std::uint16_t> accepted) {
  if (std::find(accepted.begin(), accepted.end(), r.sw) == accepted.end()) throw StatusWordError(r.sw, command);
}

bool sw_is_success(std::uint16_t sw) noexcept {
  const auto sw1 = static_cast<std::uint8_t>(sw >> 8);
  return sw == 0x9000 || sw1 == 0x62 || sw1 == 0x63;
}

}  // namespace sekds::gp
