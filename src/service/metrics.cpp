#include "service/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <variant>

#include <fmt/format.h>

namespace sekds::service {
namespace {

bool valid_metric_name(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool valid_label_name(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<long long>(v));
  return fmt::format("{}", v);
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      const std::string& extra_name = {}, const std::string& extra_value = {}) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += out.empty() ? "{" : ",";
    out += names[i] + "=\"" + escape_label_value(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += extra_name + "=\"" + extra_value + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

std::string escape_help(const std::string& h) {
  std::string out;
  for (char c : h) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

enum Kind { kCounter, kGauge, kHistogram, kCallback };

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1);
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double v) noexcept {
  std::size_t i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

std::uint64_t Histogram::cumulative_count(std::size_t i) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t k = 0; k <= i && k <= bounds_.size(); ++k) n += buckets_[k].load(std::memory_order_relaxed);
  return n;
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

template <class Child>
Family<Child>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                      std::function<std::unique_ptr<Child>()> make)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), make_(std::move(make)) {}

template <class Child>
Child& Family<Child>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names_.size())
    throw std::invalid_argument(fmt::format("metric {}: {} label values for {} labels", name_,
                                            label_values.size(), label_names_.size()));
  std::lock_guard lock(mu_);
  auto it = children_.find(label_values);
  if (it == children_.end()) it = children_.emplace(label_values, make_()).first;
  return *it->second;
}

template <class Child>
void Family<Child>::for_each(
    const std::function<void(const std::vector<std::string>&, const Child&)>& f) const {
  std::lock_guard lock(mu_);
  for (const auto& [labels, child] : children_) f(labels, *child);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct MetricsRegistry::Entry {
  std::string name;
  int kind;
  std::vector<std::string> label_names;
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
  std::string help;
  std::function<double()> read;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Entry& MetricsRegistry::add(const std::string& name, int kind,
                                             const std::vector<std::string>& label_names) {
  if (!valid_metric_name(name)) throw std::invalid_argument("invalid metric name: " + name);
  for (const auto& l : label_names)
    if (!valid_label_name(l) || l == "le") throw std::invalid_argument("metric " + name + ": invalid label name " + l);
  for (auto& e : entries_) {
    if (e->name != name) continue;
    if (e->kind != kind || e->label_names != label_names)
      throw std::invalid_argument("metric " + name + " registered twice with different type or labels");
    return *e;
  }
  auto e = std::make_unique<Entry>();
  e->name = name;
  e->kind = kind;
  e->label_names = label_names;
  entries_.push_back(std::move(e));
  return *entries_.back();
}

CounterFamily& MetricsRegistry::counter_family(const std::string& name, const std::string& help,
                                               const std::vector<std::string>& label_names) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, kCounter, label_names);
  if (!e.counters)
    e.counters = std::make_unique<CounterFamily>(name, help, label_names, [] { return std::make_unique<Counter>(); });
  return *e.counters;
}

GaugeFamily& MetricsRegistry::gauge_family(const std::string& name, const std::string& help,
                                           const std::vector<std::string>& label_names) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, kGauge, label_names);
  if (!e.gauges)
    e.gauges = std::make_unique<GaugeFamily>(name, help, label_names, [] { return std::make_unique<Gauge>(); });
  return *e.gauges;
}

HistogramFamily& MetricsRegistry::histogram_family(const std::string& name, const std::string& help,
                                                   const std::vector<std::string>& label_names,
                                                   std::vector<double> upper_bounds) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, kHistogram, label_names);
  if (!e.histograms)
    e.histograms = std::make_unique<HistogramFamily>(
        name, help, label_names, [b = std::move(upper_bounds)] { return std::make_unique<Histogram>(b); });
  return *e.histograms;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  return counter_family(name, help, {}).with({});
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      std::vector<double> upper_bounds) {
  return histogram_family(name, help, {}, std::move(upper_bounds)).with({});
}

void MetricsRegistry::callback_gauge(const std::string& name, const std::string& help,
                                     std::function<double()> read) {
  std::lock_guard lock(mu_);
  Entry& e = add(name, kCallback, {});
  e.help = help;
  e.read = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& e : entries_) {
    switch (e->kind) {
      case kCounter:
        out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", e->name, escape_help(e->counters->help()), e->name);
        e->counters->for_each([&](const std::vector<std::string>& lv, const Counter& c) {
          out += e->name + label_set(e->label_names, lv) + " " + std::to_string(c.value()) + "\n";
        });
        break;
      case kGauge:
        out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", e->name, escape_help(e->gauges->help()), e->name);
        e->gauges->for_each([&](const std::vector<std::string>& lv, const Gauge& g) {
          out += e->name + label_set(e->label_names, lv) + " " + format_value(g.value()) + "\n";
        });
        break;
      case kHistogram:
        out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", e->name, escape_help(e->histograms->help()), e->name);
        e->histograms->for_each([&](const std::vector<std::string>& lv, const Histogram& h) {
          const auto& b = h.upper_bounds();
          for (std::size_t i = 0; i <= b.size(); ++i) {
            std::string le = i < b.size() ? format_value(b[i]) : "+Inf";
            out += e->name + "_bucket" + label_set(e->label_names, lv, "le", le) + " " +
                   std::to_string(h.cumulative_count(i)) + "\n";
          }
          out += e->name + "_sum" + label_set(e->label_names, lv) + " " + format_value(h.sum()) + "\n";
          out += e->name + "_count" + label_set(e->label_names, lv) + " " + std::to_string(h.count()) + "\n";
        });
        break;
      case kCallback:
        out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", e->name, escape_help(e->help), e->name, e->name,
                           format_value(e->read ? e->read() : 0.0));
        break;
    }
  }
  return out;
}

}  // namespace sekds::service
