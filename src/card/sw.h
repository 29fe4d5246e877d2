// Status words the card answers with, beyond the ones gp/status_word.h names, and the one
// exception a command handler throws to end a command with a status word. It is created where
// the problem is known and turned into the response once, in Card::process.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "gp/status_word.h"

namespace sekds::card {

inline constexpr std::uint16_t kSwMoreDataAvailable = 0x6310;   // GET STATUS: more entries follow
inline constexpr std::uint16_t kSwMemoryFailure = 0x6581;       // the state could not be written
inline constexpr std::uint16_t kSwLogicalChannelNotSupported = 0x6881;
inline constexpr std::uint16_t kSwNotEnoughMemory = 0x6A84;
inline constexpr std::uint16_t kSwNoPreciseDiagnosis = 0x6F00;  // an internal error: never a crash
inline constexpr std::uint16_t kSwAlgorithmNotSupported = 0x9484;  // PUT KEY (GP 2.3.1 Table 11-72)

class SwError : public std::runtime_error {
 public:
  SwError(std::uint16_t sw, const std::string& what) : std::runtime_error(what), sw_(sw) {}
  std::uint16_t sw() const noexcept { return sw_; }

 private:
  std::uint16_t sw_;
};

}  // namespace sekds::card
