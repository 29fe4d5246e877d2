// Inputs that trigger bugs already found and reported (README.md, "Findings") in code this
// directory does not own. The targets step around them so that a long run can find the next
// bug instead of the same one again. SEKDS_FUZZ_KNOWN_BUGS=1 turns every detour off: run the
// saved input of a finding (tests/fuzz/findings/) with it to check a fix, then delete the
// detour here.
#pragma once

#include <cstdlib>

#include "gp/bytes.h"

namespace sekds::fuzz {

inline bool avoid_known_bugs() {
  static const bool avoid = std::getenv("SEKDS_FUZZ_KNOWN_BUGS") == nullptr;
  return avoid;
}

// F3: a RequestGuard violation raised on a later read of the body (here: Truncated, after an
// unterminated '<?' inside element text) does not stop gSOAP: the bytes are already in its
// buffer, the hook's error comes out as one EOF that the parser swallows, and the operation
// runs (sekds-server answered such a WSPing with 200 OK). The target lets a Truncated body
// through; any other violation reaching an operation still stops the run.
inline bool is_f3_guard_violation(bool truncated) { return avoid_known_bugs() && truncated; }

}  // namespace sekds::fuzz
