// The transport's own ceiling: WSPing (no key work) over mutual TLS against an in-process
// sekds server, measured in the same run for several client shapes:
//   keepalive_N    N client threads, one keep-alive connection each
//   resumed_1      a new TCP connection per request, TLS session resumed
//   full_1         a new client (new TLS context, full handshake) per request
//   fairness_64    64 keep-alive clients on the configured workers (min/max per client)
// WSGetDiversifiedKeys with the real key release is meant to be measured as a ratio against
// keepalive_N of this run (DESIGN §9): add it beside `scenarios` below.
//
//   bench_service_transport [--seconds 2] [--workers 4] [--pki DIR]
// Without --pki a throwaway dev PKI is made with certs/dev-pki.sh. One JSON document on stdout.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>

#include "service/client.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/service_metrics.h"

using namespace sekds::service;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

class PingOnlyKeys : public KeyService {
 public:
  std::variant<GetKeysResponse, Fault> get_diversified_keys(const CallerIdentity&, const GetKeysRequest&) override {
    return Fault{FaultCode::HsmUnavailable, "bench: no key release"};
  }
  std::variant<std::vector<KekInfo>, Fault> get_kek_info(const CallerIdentity&) override { return std::vector<KekInfo>{}; }
};

struct Outcome {
  long ok = 0, failed = 0;
  double seconds = 0;
  long min_per_client = 0, max_per_client = 0;
};

// `clients` threads each run `op` until `seconds` have passed; op returns false on failure.
Outcome run(int clients, double seconds, const std::function<bool(int, std::unique_ptr<Client>&)>& op) {
  std::vector<std::atomic<long>> per(static_cast<std::size_t>(clients));
  std::atomic<long> failed{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      std::unique_ptr<Client> c;
      while (!stop) {
        if (op(i, c)) ++per[static_cast<std::size_t>(i)];
        else ++failed;
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  Outcome o;
  o.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  o.failed = failed;
  o.min_per_client = per[0];
  for (auto& p : per) {
    o.ok += p;
    o.min_per_client = std::min<long>(o.min_per_client, p);
    o.max_per_client = std::max<long>(o.max_per_client, p);
  }
  return o;
}

nlohmann::json to_json(const std::string& name, int clients, const Outcome& o) {
  return {{"scenario", name},
          {"clients", clients},
          {"requests", o.ok},
          {"failed", o.failed},
          {"seconds", o.seconds},
          {"req_per_s", static_cast<double>(o.ok) / o.seconds},
          {"min_per_client", o.min_per_client},
          {"max_per_client", o.max_per_client}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sekds transport benchmark: WSPing over mutual TLS"};
  double seconds = 2.0;
  unsigned workers = 4;
  std::string pki_dir;
  app.add_option("--seconds", seconds, "duration of each scenario")->check(CLI::PositiveNumber);
  app.add_option("--workers", workers, "server worker threads")->check(CLI::Range(1u, 256u));
  app.add_option("--pki", pki_dir, "directory made by certs/dev-pki.sh (default: a temporary one)");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::warn);
  ssl_init();
  fs::path tmp;
  if (pki_dir.empty()) {
    tmp = fs::temp_directory_path() / ("sekds-bench-" + std::to_string(::getpid()));
    pki_dir = (tmp / "pki").string();
    std::string cmd = std::string(SEKDS_DEV_PKI) + " " + pki_dir + " >/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      std::cerr << "bench: certs/dev-pki.sh failed\n";
      return 1;
    }
  }
  fs::path pki(pki_dir);

  ServerConfig config;
  config.port = 0;
  config.workers = workers;
  config.max_connections = 1024;
  config.rate_per_tsm = 0;
  config.tls.certificate = pki / "server.crt";
  config.tls.private_key = pki / "server.key";
  config.tls.client_ca = pki / "ca.crt";
  PingOnlyKeys keys;
  MetricsRegistry registry;
  ServiceMetrics metrics(registry);
  Server server(config, keys, metrics);
  server.start();

  ClientOptions opts;
  opts.endpoint = "https://localhost:" + std::to_string(server.port()) + "/sekds/v1";
  opts.certificate = pki / "tsm1.crt";
  opts.private_key = pki / "tsm1.key";
  opts.ca_file = pki / "ca.crt";
  const std::string payload(64, 'p');
  auto ping = [&](std::unique_ptr<Client>& c) { return std::holds_alternative<std::string>(c->ping(payload)); };

  nlohmann::json scenarios = nlohmann::json::array();
  for (int n : {1, 2, 4}) {
    std::cerr << "keepalive_" << n << "...\n";
    Outcome o = run(n, seconds, [&](int, std::unique_ptr<Client>& c) {
      if (!c) c = std::make_unique<Client>(opts);
      return ping(c);
    });
    scenarios.push_back(to_json("keepalive_" + std::to_string(n), n, o));
  }
  std::cerr << "resumed_1...\n";
  scenarios.push_back(to_json("resumed_1", 1, run(1, seconds, [&](int, std::unique_ptr<Client>& c) {
                                if (!c) c = std::make_unique<Client>(opts);
                                bool ok = ping(c);
                                c->disconnect();  // next call: new TCP connection, TLS session resumed
                                return ok;
                              })));
  std::cerr << "full_1...\n";
  scenarios.push_back(to_json("full_1", 1, run(1, seconds, [&](int, std::unique_ptr<Client>& c) {
                                c = std::make_unique<Client>(opts);  // new TLS context: full handshake
                                return ping(c);
                              })));
  std::cerr << "fairness_64...\n";
  scenarios.push_back(to_json("fairness_64", 64, run(64, seconds, [&](int, std::unique_ptr<Client>& c) {
                                if (!c) c = std::make_unique<Client>(opts);
                                return ping(c);
                              })));

  server.stop();
  server.wait();
  if (!tmp.empty()) fs::remove_all(tmp);
  nlohmann::json out = {{"benchmark", "service_transport"},
                        {"workers", workers},
                        {"payload_bytes", payload.size()},
                        {"cores", std::thread::hardware_concurrency()},
                        {"scenarios", scenarios}};
  std::cout << out.dump(2) << "\n";
  return 0;
}
