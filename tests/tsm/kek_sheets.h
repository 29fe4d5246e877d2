// Component sheets of a KEK as `sekds-admin kek generate` writes them (gp/key_component.h),
// made here so the TSM's import can be tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gp/bytes.h"

namespace sekds::test {

struct SheetOptions {
  unsigned custodians = 2;
  std::string tsm = "tsm1";
  bool wrong_component_kcv = false;  // the second sheet's component KCV is off by one bit
  bool wrong_combined_kcv = false;   // every sheet's combined KCV is off by one bit
  bool no_combined_kcv = false;
  std::uint32_t index_on_second_sheet = 0;  // != 0: the second sheet claims another index
};

// Splits `kek` into random XOR components and writes one sheet per custodian into `dir`
// (mode 0600). Returns the file paths.
std::vector<std::string> write_kek_sheets(const std::string& dir, std::uint32_t index, const gp::SecureBytes& kek,
                                          const SheetOptions& o = {});

}  // namespace sekds::test
