// The audit log: every key release and every admin action, hash chained.
//
// Each record carries the hash of its predecessor (prev_hash) and the SHA-256 of its own
// canonical content (audit_hash.h documents the form). seq is gap-free: it is assigned
// inside the write transaction from the chain head, so a rolled-back batch leaves no hole.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gp/bytes.h"
#include "store/time.h"

namespace sekds::store {

using AuditId = std::uint64_t;  // the record's seq; 1 for the first record

inline constexpr std::string_view kResultOk = "OK";
// The operation name of a key release (the SOAP operation).
inline constexpr std::string_view kOpKeyRelease = "WSGetDiversifiedKeys";
// Bounds for one record; larger input is refused with InvalidArgument.
inline constexpr std::size_t kMaxAuditText = 256;      // actor, operation, issuer, result, request id
inline constexpr std::size_t kMaxAuditDetail = 4096;   // the JSON detail, serialised

// What an appender hands over.
struct AuditRecord {
  std::optional<Timestamp> time;  // the event time; now when unset
  std::string actor;              // TSM name or operator
  std::string operation;          // kOpKeyRelease, "tsm.accredit", ...
  std::optional<gp::Bytes> kdd;   // the card's key diversification data
  std::optional<std::string> issuer;
  std::optional<std::uint8_t> kvn;
  std::optional<std::uint32_t> kek_index;
  std::string result{kResultOk};  // "OK" or the fault / error code name
  std::optional<std::string> request_id;
  nlohmann::json detail = nlohmann::json::object();  // small, never key material
  // Idempotent retries: when set (with a request id and an OK result) and an OK record
  // of the same actor, operation and request id newer than now - window exists, nothing
  // is appended and that record's seq is returned with duplicate = true. The check runs
  // inside the write transaction, so two racing retries cannot both be recorded.
  std::optional<std::chrono::milliseconds> idempotency_window;
};

struct AppendResult {
  AuditId seq = 0;
  bool duplicate = false;
};

// A stored record.
struct AuditEntry {
  AuditId seq = 0;
  Timestamp time;
  std::string actor;
  std::string operation;
  std::optional<gp::Bytes> kdd;
  std::optional<std::string> issuer;
  std::optional<std::uint8_t> kvn;
  std::optional<std::uint32_t> kek_index;
  std::string result;
  std::optional<std::string> request_id;
  std::string detail;     // compact JSON, keys sorted (exactly the hashed text)
  std::string prev_hash;  // 64 uppercase hex digits; all '0' for seq 1
  std::string hash;       // SHA-256 of the canonical content, 64 uppercase hex digits
};

struct AuditFilter {
  std::optional<Timestamp> since;  // time >= since
  std::optional<Timestamp> until;  // time < until
  std::optional<std::string> actor;
  std::optional<gp::Bytes> kdd;
  std::optional<std::string> operation;
  std::optional<std::string> result;
  std::optional<AuditId> after_seq;  // paging: seq > after_seq
  std::size_t limit = 100;           // 1..10000
  bool newest_first = true;
};

struct ChainHead {
  AuditId seq = 0;        // 0 for an empty log
  std::string hash;       // hash of record `seq` (all '0' when empty)
};

enum class AuditBreak {
  None,
  ContentMismatch,  // the record's content does not hash to its stored hash (edited or moved)
  LinkMismatch,     // prev_hash is not the predecessor's hash (inserted, or predecessor replaced)
  Missing,          // a seq is absent (deleted)
  HeadMismatch,     // the last record is not the recorded chain head (tail deleted or added)
  Malformed,        // a field cannot be read back (bad hex, bad time, NULL where not allowed)
};
const char* audit_break_name(AuditBreak b) noexcept;

struct VerifyReport {
  bool ok = true;
  std::uint64_t records = 0;  // records checked before the first break (all when ok)
  ChainHead head;             // the recorded chain head
  std::optional<AuditId> first_bad;  // the first bad seq
  AuditBreak kind = AuditBreak::None;
  std::string reason;  // human text naming the record and what is wrong
};

}  // namespace sekds::store
