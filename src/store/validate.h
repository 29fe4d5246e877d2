// Checks and normalises what callers hand to the store, before any SQL runs, so bad
// input gets an InvalidArgument naming the field instead of a constraint error.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "store/audit.h"
#include "store/types.h"

namespace sekds::store::validate {

inline constexpr std::size_t kMaxName = 64;
inline constexpr std::size_t kMaxLabel = 128;

// 1..max characters, no control characters. Throws StoreError(InvalidArgument).
void name(std::string_view what, std::string_view value, std::size_t max = kMaxName);
// Hex of 1..16 bytes, returned uppercase.
std::string iin(std::string_view hex);
// SHA-256 hex (32 bytes; ':' and spaces between bytes allowed), returned uppercase.
std::string fingerprint(std::string_view hex);
// 10-byte KDD.
void kdd(gp::ByteView kdd);
// A copy with the KDF layout and constants normalised (the method's default when empty).
KeySetSpec key_set(const KeySetSpec& spec);
void kek(const KekSpec& spec);
void audit_context(const AuditContext& who);
// Checks the record's bounds; returns the detail as stored (compact JSON, sorted keys).
std::string audit_record(const AuditRecord& record);

const char* kcv_alg_text(gp::KcvAlg a) noexcept;  // gp::kcv_alg_name
std::optional<gp::KcvAlg> parse_kcv_alg(std::string_view s) noexcept;

}  // namespace sekds::store::validate
