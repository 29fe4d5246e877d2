#include "service/logging.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace sekds::service {

void configure_logging(const std::string& level, const std::optional<std::filesystem::path>& file) {
  std::shared_ptr<spdlog::logger> logger;
  spdlog::drop("sekds");
  if (file) {
    try {
      logger = spdlog::basic_logger_mt("sekds", file->string());
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("log.file: " + file->string() + ": " + e.what());
    }
  } else {
    logger = spdlog::stderr_logger_mt("sekds");
  }
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

std::string utc_timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(ms));
}

void log_json(spdlog::level::level_enum level, nlohmann::ordered_json fields) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  auto lv = spdlog::level::to_string_view(level);
  nlohmann::ordered_json line = {{"ts", utc_timestamp()}, {"level", std::string(lv.data(), lv.size())}};
  for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  // replace: invalid UTF-8 from a peer must not throw here
  logger->log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace sekds::service
