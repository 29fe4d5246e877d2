// A small thread-safe metrics registry rendered in the Prometheus text format (0.0.4):
// counters, gauges and histograms, each in a family with fixed label names.
//
// Values are atomics, so the hot path (inc/observe on a reference kept by the caller) takes no
// lock; looking a labelled child up by its label values takes the family's mutex once.
// Children and families live as long as the registry, so references stay valid.
// Never put secrets or per-card data in label values (they are public on /metrics).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sekds::service {

class Counter {
 public:
  void inc(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double v) noexcept { value_.fetch_add(v, std::memory_order_relaxed); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double v) noexcept;
  const std::vector<double>& upper_bounds() const noexcept { return bounds_; }
  // Cumulative count of observations <= bound i (i == bounds.size() is +Inf).
  std::uint64_t cumulative_count(std::size_t i) const noexcept;
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // per bucket, not cumulative; last is +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Default latency buckets in seconds (0.5 ms .. 10 s).
std::vector<double> latency_buckets();

template <class Child>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Child>()> make);
  // The child for these label values (created on first use). Throws std::invalid_argument if the
  // number of values differs from the number of label names.
  Child& with(const std::vector<std::string>& label_values);
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  // Calls f(label_values, child) for every child, in label order, under the family's lock.
  void for_each(const std::function<void(const std::vector<std::string>&, const Child&)>& f) const;

 private:
  std::string name_, help_;
  std::vector<std::string> label_names_;
  std::function<std::unique_ptr<Child>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name again returns the existing family if its type and label names match,
  // and throws std::invalid_argument otherwise (also for names Prometheus does not accept).
  CounterFamily& counter_family(const std::string& name, const std::string& help,
                                const std::vector<std::string>& label_names);
  GaugeFamily& gauge_family(const std::string& name, const std::string& help,
                            const std::vector<std::string>& label_names);
  HistogramFamily& histogram_family(const std::string& name, const std::string& help,
                                    const std::vector<std::string>& label_names,
                                    std::vector<double> upper_bounds = latency_buckets());
  // Label-less shorthands.
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds = latency_buckets());
  // A gauge whose value is read when rendering (e.g. uptime).
  void callback_gauge(const std::string& name, const std::string& help, std::function<double()> read);

  // The whole registry in the Prometheus text exposition format, families in registration order.
  std::string render() const;

 private:
  struct Entry;
  Entry& add(const std::string& name, int kind, const std::vector<std::string>& label_names);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_;
};

// Prometheus text-format escaping of a label value (\\, \", \n).
std::string escape_label_value(const std::string& v);

}  // namespace sekds::service
