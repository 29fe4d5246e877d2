#include "tsm/batch.h"

#include <atomic>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>

#include "tsm/grid_transport.h"

namespace sekds::tsm {

double BatchResult::flows_per_second() const noexcept {
  return elapsed.count() > 0 ? static_cast<double>(ok) * 1e6 / static_cast<double>(elapsed.count()) : 0.0;
}

const BatchCardResult* BatchResult::first_failure() const noexcept {
  for (const auto& r : results)
    if (!r.ok) return &r;
  return nullptr;
}

BatchResult run_batch(const CardSpec& spec, unsigned jobs, const std::function<std::unique_ptr<KeySource>()>& make_ttp_source,
                      LocalKeySource* own, const FlowOptions& options) {
  if (spec.kind != CardSpec::Kind::Grid) throw TsmError(TsmErrc::Usage, "batch runs need a grid:HOST:PORT/FIRST-LAST card spec");
  BatchResult b;
  b.cards = spec.count();
  b.jobs = std::max(1u, std::min<unsigned>(jobs, static_cast<unsigned>(b.cards)));
  b.results.resize(b.cards);
  std::atomic<std::size_t> next{0};
  const auto t0 = std::chrono::steady_clock::now();

  auto worker = [&]() {
    std::unique_ptr<KeySource> ttp;
    std::shared_ptr<GridConnection> conn;
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= b.cards) break;
      BatchCardResult& out = b.results[i];
      out.slot = spec.first_slot + static_cast<int>(i);
      try {
        if (!ttp && make_ttp_source) ttp = make_ttp_source();
        if (!conn) conn = std::make_shared<GridConnection>(spec.host, spec.port);
        GridTransport t(conn, out.slot);
        FlowResult r = run_flow(t, FlowSources{ttp.get(), own}, options);
        out.steps = std::move(r.steps);
        if (r.error) {
          out.error = r.error->what();
          out.error_name = r.error->name();
          out.code = r.error->code();
          // A broken grid connection is replaced for the next card.
          if (r.error->code() == TsmErrc::CardTransport) conn.reset();
        } else {
          out.ok = true;
        }
      } catch (const TsmError& e) {
        out.error = e.what();
        out.error_name = e.name();
        out.code = e.code();
        if (e.code() == TsmErrc::CardTransport) conn.reset();
      } catch (const std::exception& e) {
        out.error = e.what();
        out.error_name = "Internal";
        out.code = TsmErrc::Internal;
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < b.jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
  b.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
  for (const auto& r : b.results) (r.ok ? b.ok : b.failed)++;
  return b;
}

nlohmann::ordered_json batch_json(const BatchResult& b) {
  nlohmann::ordered_json j;
  j["ok"] = b.failed == 0;
  j["cards"] = b.cards;
  j["succeeded"] = b.ok;
  j["failed"] = b.failed;
  j["jobs"] = b.jobs;
  j["elapsed_ms"] = static_cast<double>(b.elapsed.count()) / 1000.0;
  j["flows_per_second"] = b.flows_per_second();
  // Mean duration of each step over the cards that reached it.
  std::map<std::string, std::pair<long long, long long>> sums;
  std::vector<std::string> order;
  for (const auto& r : b.results)
    for (const auto& s : r.steps) {
      if (!sums.count(s.step)) order.push_back(s.step);
      auto& p = sums[s.step];
      p.first += s.duration.count();
      p.second += 1;
    }
  nlohmann::ordered_json steps;
  for (const auto& name : order) steps[name + "_mean_us"] = sums[name].first / std::max(1LL, sums[name].second);
  j["steps"] = steps;
  nlohmann::ordered_json failures = nlohmann::ordered_json::array();
  for (const auto& r : b.results)
    if (!r.ok) failures.push_back({{"slot", r.slot}, {"name", r.error_name}, {"message", r.error}});
  j["failures"] = failures;
  return j;
}

void print_batch(const BatchResult& b, std::ostream& out) {
  for (const auto& r : b.results)
    if (!r.ok) out << "slot " << r.slot << ": FAILED " << r.error_name << ": " << r.error << '\n';
  char line[160];
  std::snprintf(line, sizeof line, "%zu cards, %zu ok, %zu failed, %u jobs, %.3f s, %.1f flows/s\n", b.cards, b.ok, b.failed,
                b.jobs, static_cast<double>(b.elapsed.count()) / 1e6, b.flows_per_second());
  out << line;
}

}  // namespace sekds::tsm
