// Timestamps of the store: UTC, millisecond precision, written as ISO 8601 text
// ("2026-11-23T12:34:56.789Z") so that text order is time order in SQL.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sekds::store {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

Timestamp now_utc();
// Always "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 characters).
std::string format_timestamp(Timestamp t);
// Reads the form above, and for operators also "YYYY-MM-DD", "YYYY-MM-DDTHH:MM",
// "YYYY-MM-DDTHH:MM:SS" with optional ".mmm" and optional "Z", 'T' or a space between
// date and time. nullopt when malformed or out of range.
std::optional<Timestamp> parse_timestamp(std::string_view text);

}  // namespace sekds::store
