// Many cards at once: the flow over every slot of grid:HOST:PORT/FIRST-LAST with N worker
// threads. Each worker has its own grid connection and its own key source (one mutual-TLS
// keep-alive connection to the TTP per worker); the KEK token (Hsm, logged in once) and the
// own key sets are shared. No per-card process, connection or login.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tsm/card_transport.h"
#include "tsm/flow.h"

namespace sekds::tsm {

struct BatchCardResult {
  int slot = 0;
  bool ok = false;
  std::string error_name;
  std::string error;
  TsmErrc code = TsmErrc::Internal;
  std::vector<StepTiming> steps;
};

struct BatchResult {
  std::size_t cards = 0;
  std::size_t ok = 0;
  std::size_t failed = 0;
  unsigned jobs = 1;
  std::chrono::microseconds elapsed{0};
  std::vector<BatchCardResult> results;  // by slot
  double flows_per_second() const noexcept;
  // The first failure (nullptr when every card succeeded).
  const BatchCardResult* first_failure() const noexcept;
};

// `make_ttp_source()` is called once per worker (nullptr allowed when only own keys are used).
BatchResult run_batch(const CardSpec& spec, unsigned jobs, const std::function<std::unique_ptr<KeySource>()>& make_ttp_source,
                      LocalKeySource* own, const FlowOptions& options);

nlohmann::ordered_json batch_json(const BatchResult& b);
void print_batch(const BatchResult& b, std::ostream& out);

}  // namespace sekds::tsm
