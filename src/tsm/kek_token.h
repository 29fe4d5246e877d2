// The TSM's own PKCS#11 token that keeps its KEKs ([kek_token] in the configuration).
#pragma once

#include <memory>

#include "tsm/config.h"

namespace sekds::hsm {
class Hsm;
}

namespace sekds::tsm {

// Opens the token with a USER login, once per process (workers share it). Throws
// TsmError(Config / Hsm).
std::unique_ptr<hsm::Hsm> open_kek_token(const TsmConfig& config);

}  // namespace sekds::tsm
