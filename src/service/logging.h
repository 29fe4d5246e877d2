// Structured logs: one JSON object per line through spdlog's default logger.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace sekds::service {

// Makes the default logger write bare lines (the JSON carries time and level) to stderr or to
// `file` (appended), at `level` ("trace" .. "off"). Throws std::runtime_error if the file
// cannot be opened.
void configure_logging(const std::string& level, const std::optional<std::filesystem::path>& file);

inline bool log_enabled(spdlog::level::level_enum level) {
  return spdlog::default_logger_raw()->should_log(level);
}
// Logs {"ts": ..., "level": ..., ...fields} on one line, keys in the order given.
void log_json(spdlog::level::level_enum level, nlohmann::ordered_json fields);
// "2026-11-26T08:24:49.123Z"
std::string utc_timestamp();

}  // namespace sekds::service
