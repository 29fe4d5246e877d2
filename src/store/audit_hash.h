// Canonical content of an audit record and its SHA-256 (the hash chain's link).
//
// Canonical form (version 1), the exact bytes hashed:
//   "sekds-audit-v1"
//   then these 12 fields in this order:
//     seq, time, actor, operation, kdd, issuer, kvn, kek_index, result, request_id,
//     detail, prev_hash
//   each written as one byte 0x00 for NULL, or 0x01 followed by the 4-byte big-endian
//   length and the UTF-8 text of the field:
//     seq, kvn, kek_index   decimal, no leading zeros
//     time                  "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC)
//     kdd, prev_hash        uppercase hex
//     detail                compact JSON with sorted keys, as stored
//     others                the text as stored
// Length prefixes make the encoding unambiguous (no field can spill into the next), and
// seq plus prev_hash in the hashed content make moving, inserting or deleting a record
// break the chain at that record.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "store/audit.h"

namespace sekds::store {

inline constexpr std::string_view kAuditHashDomain = "sekds-audit-v1";
// prev_hash of the first record.
std::string genesis_hash();  // 64 x '0'

// The 12 hashed fields in canonical order, as text (nullopt = NULL). verify() reads them
// straight from the database, so a value rewritten in another spelling (5.0 for 5, a
// reformatted time) still breaks the hash.
using AuditText = std::array<std::optional<std::string>, 12>;
AuditText audit_text(const AuditEntry& e);

// The canonical bytes (the record's own hash is not part of them).
std::string canonical_audit_content(const AuditText& fields);
// SHA-256 of the canonical bytes, 64 uppercase hex digits.
std::string audit_hash(const AuditText& fields);
inline std::string audit_hash(const AuditEntry& e) { return audit_hash(audit_text(e)); }

}  // namespace sekds::store
