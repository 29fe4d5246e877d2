// `kek import`: the TSM's copy of a KEK from the custodians' component sheets
// (gp/key_component.h, as `sekds-admin kek generate` writes them), under dual control:
// every component's KCV is checked, the combined key's KCV is checked against the sheets',
// and only then is the KEK stored in the TSM's token (unwrap-only, never extractable) and its
// KCV recorded (kek_registry.h). Nothing is stored on any mismatch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "tsm/kek_registry.h"

namespace sekds::hsm {
class Hsm;
}

namespace sekds::tsm {

struct KekImportResult {
  KekRecord record;
  std::vector<gp::Bytes> component_kcvs;  // in the order given, in the sheets' convention
  std::string kcv_convention;             // of the component KCVs
  unsigned custodians = 0;
};

// Throws TsmError: Usage (unreadable / malformed sheets, sheets that do not belong together),
// Verification (a component or combined KCV that does not match), Hsm, Config.
KekImportResult import_kek(hsm::Hsm& hsm, KekRegistry& registry, std::uint32_t index,
                           const std::vector<std::filesystem::path>& component_files);


}  // namespace sekds::tsm
