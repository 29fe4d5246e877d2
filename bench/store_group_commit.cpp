// Audit append throughput: group commit against two naive baselines (one transaction, so
// one fsync, per append), all measured in this run on the same disk, with 1, 8 and 32
// concurrent appenders. Prints JSON with the ratio.
//   per-append             each appender commits on its own connection; SQLite's lock
//                          and its busy-handler sleeps order them
//   per-append-serialized  the same, queued on an in-process mutex instead (no sleeps:
//                          the cost is exactly one commit per append)
// "ratio" is group commit over the FASTER of the two baselines (the conservative figure).
//
//   bench_store_group_commit [--dir DIR] [--seconds S] [--rounds R] [--appenders 1,8,32]
//
// DIR must be on the disk the service would use (not tmpfs: fsync there is free and the
// ratio says nothing). A fresh database is made for every measurement and removed.
// fsync latency on a shared virtual disk drifts by an order of magnitude within minutes,
// so the three modes alternate in short slices (R rounds of S seconds each) and the
// report gives the median of each.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.h"

using namespace sekds;
using namespace sekds::store;
using Clock = std::chrono::steady_clock;

namespace {

struct Run {
  double appends_per_s = 0;
  std::uint64_t appends = 0;
  std::uint64_t errors = 0;
  GroupCommitStats stats;
  bool verified = false;
};

AuditRecord release(int thread, std::uint64_t i) {
  AuditRecord r;
  r.actor = "tsm" + std::to_string(thread % 4);
  r.operation = std::string(kOpKeyRelease);
  r.kdd = gp::from_hex("00010203040506070800");
  r.kdd->back() = static_cast<std::uint8_t>(thread);
  r.issuer = "acme";
  r.kvn = 0x30;
  r.kek_index = 1;
  r.request_id = "r-" + std::to_string(thread) + "-" + std::to_string(i);
  r.detail = {{"scp", 3}, {"counter", "000001"}};
  return r;
}

Run measure(const std::filesystem::path& dir, CommitMode mode, int appenders, double seconds) {
  const auto db = dir / (std::string(commit_mode_name(mode)) + "-" + std::to_string(appenders) + ".db");
  Run run;
  {
    SqliteOptions o;
    o.commit_mode = mode;
    o.busy_timeout_ms = 60000;  // the naive baseline queues on SQLite's lock; do not count that as errors
    auto store = SqliteStore::open(db, o);
    store->append(release(0, 0));  // warm up: file created, WAL in place
    std::atomic<bool> go{false}, stop{false};
    std::atomic<std::uint64_t> count{0}, errors{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < appenders; ++t) {
      pool.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        std::uint64_t i = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          try {
            store->append(release(t, ++i));
            count.fetch_add(1, std::memory_order_relaxed);
          } catch (const std::exception&) {
            errors.fetch_add(1, std::memory_order_relaxed);
          }
        }
      });
    }
    const auto start = Clock::now();
    go = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : pool) th.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    run.appends = count.load();
    run.errors = errors.load();
    run.appends_per_s = static_cast<double>(run.appends) / elapsed;
    run.stats = store->group_commit_stats();
    run.verified = store->verify_audit().ok;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db.string() + suffix);
  return run;
}

nlohmann::json to_json(const Run& r) {
  nlohmann::json j = {{"appends_per_s", std::round(r.appends_per_s * 10) / 10},
                      {"appends", r.appends},
                      {"errors", r.errors},
                      {"transactions", r.stats.batches},
                      {"largest_batch", r.stats.largest_batch},
                      {"chain_verified", r.verified}};
  if (r.stats.batches > 0) {
    j["mean_batch"] = std::round(static_cast<double>(r.stats.jobs) / static_cast<double>(r.stats.batches) * 100) / 100;
  }
  return j;
}

// Median of the rounds (robust to the disk's drift).
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double round2(double x) { return std::round(x * 100) / 100; }

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  double seconds = 2.0;
  int rounds = 3;
  std::vector<int> appenders{1, 8, 32};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else if (a == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::stoi(argv[++i]));
    } else if (a == "--appenders" && i + 1 < argc) {
      appenders = parse_list(argv[++i]);
    } else {
      std::cerr << "usage: bench_store_group_commit [--dir DIR] [--seconds S] [--rounds R] [--appenders 1,8,32]\n";
      return 2;
    }
  }
  std::string tmpl = (base / "sekds-bench-store-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "cannot create a directory under " << base << "\n";
    return 1;
  }
  const std::filesystem::path dir = tmpl;
  nlohmann::json out = {{"bench", "store_group_commit"},
                        {"what", "durable audit appends per second (WAL, synchronous=FULL)"},
                        {"dir", base.string()},
                        {"seconds_per_run", seconds},
                        {"rounds", rounds},
                        {"hardware_threads", std::thread::hardware_concurrency()},
                        {"results", nlohmann::json::array()}};
  int rc = 0;
  try {
    const CommitMode modes[] = {CommitMode::PerAppend, CommitMode::PerAppendSerialized, CommitMode::Group};
    for (int n : appenders) {
      std::map<CommitMode, std::vector<double>> rates;
      nlohmann::json row_rounds = nlohmann::json::array();
      for (int r = 0; r < rounds; ++r) {
        nlohmann::json round = nlohmann::json::object();
        for (CommitMode m : modes) {
          const Run run = measure(dir, m, n, seconds);
          rates[m].push_back(run.appends_per_s);
          round[commit_mode_name(m)] = to_json(run);
          if (!run.verified || run.errors) rc = 1;
        }
        row_rounds.push_back(round);
      }
      const double lock = median(rates[CommitMode::PerAppend]);
      const double serial = median(rates[CommitMode::PerAppendSerialized]);
      const double group = median(rates[CommitMode::Group]);
      const double best_naive = std::max(lock, serial);
      nlohmann::json row = {{"appenders", n},
                            {"per_append_appends_per_s", round2(lock)},
                            {"per_append_serialized_appends_per_s", round2(serial)},
                            {"group_commit_appends_per_s", round2(group)},
                            {"ratio", best_naive > 0 ? round2(group / best_naive) : 0.0},
                            {"ratio_vs_per_append", lock > 0 ? round2(group / lock) : 0.0},
                            {"rounds", row_rounds}};
      out["results"].push_back(row);
      std::cerr << "appenders " << n << ": per-append " << lock << "/s, per-append-serialized " << serial
                << "/s, group " << group << "/s, ratio " << (best_naive > 0 ? group / best_naive : 0) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    rc = 1;
  }
  std::filesystem::remove_all(dir);
  std::cout << out.dump(2) << std::endl;
  return rc;
}
