// Key components in a ceremony: read from sheets (gp/key_component.h) or typed at a prompt
// (never from argv), checked (each component's KCV, then the combination's) and combined.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gp/key_component.h"

namespace sekds::admin {

// What the sheets of one ceremony must agree on (taken from the command line, or from the
// first sheet when the command has no opinion).
struct SheetExpectation {
  gp::ComponentPurpose purpose = gp::ComponentPurpose::MasterKey;
  gp::KeyType key_type = gp::KeyType::Aes128;
  gp::KcvAlg kcv_alg = gp::KcvAlg::AesGp;
  bool per_role = false;
  std::string issuer;                // MasterKey
  std::optional<unsigned> kvn;       // MasterKey
  std::string tsm;                   // Kek
  std::optional<std::uint32_t> kek_index;  // Kek
};

SheetExpectation expectation_of(const gp::ComponentSheet& first);

// Reads and parses a sheet. A sheet that does not parse is refused:
// AdminError(Refused, "BadComponentSheet") naming the file and what is wrong.
gp::ComponentSheet load_sheet(const std::filesystem::path& file);

// Asks custodian `custodian` (of `custodians`) to type each component (no echo) and the KCV
// from their sheet. Throws AdminError(Refused, "NotConfirmed") at end of input,
// AdminError(Refused, "BadComponentSheet") for input that is not hex of the right length.
gp::ComponentSheet prompt_sheet(const SheetExpectation& e, unsigned custodian, unsigned custodians);

// One combined key (per role, or the single key).
struct CombinedKey {
  std::optional<gp::KeyRole> role;
  gp::SecureBytes value;
  gp::Bytes kcv;                      // of `value`, in the ceremony's convention, 3 bytes
  std::optional<gp::Bytes> expected;  // what the sheets (or the operator) said it must be
};

// The whole check, in this order: the sheets fit `e` (purpose, key type, convention, names,
// per-role) and each other (distinct custodian numbers, the count they name), each
// component's KCV, then each combination's against the sheets' combined-kcv and
// `combined_kcv` (from the command line; one per role). Refusals are AdminError(Refused) named
// "ComponentMismatch" or "KcvMismatch"; `detail` receives what a refusal audit should record.
std::vector<CombinedKey> combine_sheets(const std::vector<gp::ComponentSheet>& sheets, const SheetExpectation& e,
                                        const std::vector<gp::Bytes>& combined_kcv, nlohmann::json& detail);

// "ENC" / "MAC" / "DEK", or "key" for a single key.
std::string role_text(const std::optional<gp::KeyRole>& role);

}  // namespace sekds::admin
