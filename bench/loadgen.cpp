// bench_loadgen: a load generator for a running sekds-server (the dev environment's, read from
// its manifest.json), through the product's own client (service/client.h: gSOAP over mutual
// TLS). One scenario per run; one JSON object on stdout, progress on stderr.
//
//   bench_loadgen --manifest M --op ping|keys|kek-info [--key-set NAME] [--connections N]
//                 [--mode keepalive|new|resumed] [--seconds S] [--warmup S] [--rate R]
//                 [--idle N] [--server-pid PID]
//
// Modes: keepalive — N connections kept open, one thread each; new — a new connection per
// request with a full TLS handshake (nothing resumed; the client's certificate, key and CA are
// loaded once, as openssl s_time -new does, so the client's own set-up is not what is timed); resumed — a new TCP
// connection per request, TLS session resumed.
// --rate R (requests/s over all connections) makes the load open-loop: each connection sends on
// its own schedule (a random phase, then every connections/R seconds). Latency counts from the
// moment the request is issued; how late that was against the schedule is reported apart
// ("send_delay_ms": the client's own threads waiting for a CPU, or a connection still busy with
// its previous answer), so a client starved of CPU on a shared machine does not pass for server
// latency, and an overloaded server still shows (answers slower than the schedule pile up as
// send delay). Without --rate: closed loop, as fast as answers come.
// --idle N first opens N more mutual-TLS connections (one WSPing each) and holds them, idle,
// while the load runs; with --server-pid the server's VmRSS/VmHWM (/proc/PID/status) is read
// before, with the idle connections open, and at the end of the load.
// WSGetDiversifiedKeys requests are those of a card of the key set: its 'E0' template (KIDs
// 1-3 at the key set's KVN), IIN, a sequence counter of the SCP's width, KEK 1 of the TSM, and a
// random KDD per request (a new card every time). The first answer is checked: the three keys
// are unwrapped with the KEK (from the manifest, DEMO ONLY) and their KCVs compared with those of
// the keys diversified here from the demo master key.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gp/crypto.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_information.h"
#include "gp/keywrap.h"
#include "service/client.h"

using namespace sekds;
using Clock = std::chrono::steady_clock;

namespace {

struct Setup {
  service::ClientOptions client;
  std::string op = "ping";
  std::string mode = "keepalive";
  std::string payload;
  // keys
  nlohmann::json key_set;
  nlohmann::json kek;
  service::GetKeysRequest base;
  std::size_t counter_width = 3;
};

struct ThreadResult {
  std::vector<double> latencies_ms;
  std::vector<double> send_delays_ms;  // open loop: issued this late against the schedule
  std::map<std::string, long> errors;
  long ok = 0;
};

std::string error_name(const service::Fault& f) { return std::string("fault:") + service::fault_code_name(f.code); }
std::string error_name(const service::TransportError& t) {
  return std::string("transport:") + service::transport_error_kind_name(t.kind);
}

// The 'E0' template of a card holding the key set: KIDs 1 (ENC), 2 (MAC), 3 (DEK) at its KVN.
gp::Bytes key_information_for(gp::KeyType type, std::uint8_t kvn) {
  gp::KeyInformation info;
  for (std::uint8_t kid = 1; kid <= 3; ++kid) {
    gp::KeyInformationData d;
    d.key_id = kid;
    d.kvn = kvn;
    d.components = {{gp::is_aes(type) ? gp::kKeyTypeAes : gp::kKeyTypeDes,
                     static_cast<std::uint16_t>(gp::key_length(type))}};
    info.keys.push_back(d);
  }
  return info.encode();
}

service::GetKeysRequest next_request(const Setup& s, std::mt19937_64& rng) {
  service::GetKeysRequest r = s.base;
  r.kdd.resize(gp::kKddLength);
  for (auto& b : r.kdd) b = static_cast<std::uint8_t>(rng());
  r.sequence_counter.assign(s.counter_width, 0);
  r.sequence_counter.back() = 1;  // a new card: its first session
  return r;
}

// One request of the scenario on `c` (created or replaced as the mode says). Returns the error
// name, or "" when the answer was the expected one.
std::string one_request(const Setup& s, std::unique_ptr<service::Client>& c, std::mt19937_64& rng) {
  if (!c) c = std::make_unique<service::Client>(s.client);
  std::string err;
  if (s.op == "ping") {
    auto r = c->ping(s.payload);
    if (auto* f = std::get_if<service::Fault>(&r)) err = error_name(*f);
    else if (auto* t = std::get_if<service::TransportError>(&r)) err = error_name(*t);
  } else if (s.op == "keys") {
    auto r = c->get_diversified_keys(next_request(s, rng));
    if (auto* f = std::get_if<service::Fault>(&r)) err = error_name(*f);
    else if (auto* t = std::get_if<service::TransportError>(&r)) err = error_name(*t);
  } else {
    auto r = c->get_kek_info();
    if (auto* f = std::get_if<service::Fault>(&r)) err = error_name(*f);
    else if (auto* t = std::get_if<service::TransportError>(&r)) err = error_name(*t);
  }
  if (err.rfind("transport:", 0) == 0) c.reset();  // start over on a fresh connection
  else if (s.mode == "new") c->disconnect(false);   // the next request handshakes in full
  else if (s.mode == "resumed") c->disconnect();    // the next request resumes the TLS session
  return err;
}

// The first answer of a key set, checked against keys diversified here from the demo master.
void verify_keys(const Setup& s) {
  service::Client c(s.client);
  std::mt19937_64 rng(42);
  const service::GetKeysRequest req = next_request(s, rng);
  auto r = c.get_diversified_keys(req);
  if (auto* f = std::get_if<service::Fault>(&r))
    throw std::runtime_error("first request refused: " + error_name(*f) + ": " + f->message);
  if (auto* t = std::get_if<service::TransportError>(&r))
    throw std::runtime_error("first request failed: " + error_name(*t) + ": " + t->message);
  const auto& resp = std::get<service::GetKeysResponse>(r);
  const auto type = *gp::parse_key_type(s.key_set.at("key_type").get<std::string>());
  const auto method = *gp::parse_method(s.key_set.at("method").get<std::string>());
  if (s.key_set.at("master_key_hex").is_null() || s.kek.at("value_hex").is_null())
    throw std::runtime_error("the manifest has no demo master key or KEK value to check the answer with");
  const gp::Bytes master = gp::from_hex(s.key_set.at("master_key_hex").get<std::string>());
  const gp::Bytes kek = gp::from_hex(s.kek.at("value_hex").get<std::string>());
  const gp::StaticKeys expected = gp::diversify(gp::DiversificationScheme::of(method), gp::view(master), gp::view(req.kdd));
  const std::pair<const service::WrappedKeyOut*, gp::KeyRole> keys[] = {
      {&resp.enc, gp::KeyRole::Enc}, {&resp.mac, gp::KeyRole::Mac}, {&resp.dek, gp::KeyRole::Dek}};
  for (const auto& [w, role] : keys) {
    const gp::SecureBytes plain = gp::aes_key_unwrap(gp::KeyWrapAlgorithm::Rfc3394, gp::view(kek), gp::view(w->wrapped_key));
    const gp::Bytes kcv = gp::kcv(gp::gp_kcv_alg(type), gp::view(plain));
    if (kcv != w->kcv || kcv != gp::kcv(gp::gp_kcv_alg(type), gp::view(expected.of(role))))
      throw std::runtime_error(std::string("the released ") + gp::key_role_name(role) +
                               " key does not match the demo master key's diversification");
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) ;
  return sorted[std::min(sorted.size() - 1, i == 0 ? 0 : i - 1)];
}

double round3(double v) { return std::round(v * 1000) / 1000; }

// VmRSS / VmHWM of a process, in KiB (-1 when unreadable).
nlohmann::json memory_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  nlohmann::json j{{"vm_rss_kb", -1}, {"vm_hwm_kb", -1}};
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&] { return std::stol(line.substr(line.find(':') + 1)); };
    if (line.rfind("VmRSS:", 0) == 0) j["vm_rss_kb"] = value();
    if (line.rfind("VmHWM:", 0) == 0) j["vm_hwm_kb"] = value();
    if (line.rfind("Threads:", 0) == 0) j["threads"] = value();
  }
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_loadgen: load on a running sekds-server through service/client.h"};
  std::string manifest_path, tsm_name = "tsm1", key_set_name;
  Setup s;
  int connections = 1, idle = 0, server_pid = 0, payload_bytes = 64;
  unsigned kek_index = 1;
  double seconds = 3, warmup = 0.5, rate = 0;
  app.add_option("--manifest", manifest_path, "the dev environment's manifest.json")->required();
  app.add_option("--tsm", tsm_name, "the calling TSM (its certificate and KEK from the manifest)");
  app.add_option("--op", s.op, "operation")->check(CLI::IsMember({"ping", "keys", "kek-info"}));
  app.add_option("--key-set", key_set_name, "with --op keys: the demo key set (issuer name, or key type DES2/AES128/AES256)");
  app.add_option("--kek-index", kek_index, "with --op keys: the TSM's KEK index");
  app.add_option("--connections", connections, "concurrent connections (one thread each)")->check(CLI::Range(1, 4096));
  app.add_option("--mode", s.mode, "connection use")->check(CLI::IsMember({"keepalive", "new", "resumed"}));
  app.add_option("--seconds", seconds, "measured time")->check(CLI::Range(0.1, 3600.0));
  app.add_option("--warmup", warmup, "unmeasured time first")->check(CLI::Range(0.0, 600.0));
  app.add_option("--rate", rate, "open loop: requests/s over all connections (0: closed loop)")->check(CLI::NonNegativeNumber);
  app.add_option("--idle", idle, "idle mutual-TLS connections held open during the load")->check(CLI::Range(0, 100000));
  app.add_option("--server-pid", server_pid, "read this process's VmRSS/VmHWM");
  app.add_option("--payload", payload_bytes, "WSPing message bytes")->check(CLI::Range(1, 60000));
  CLI11_PARSE(app, argc, argv);

  nlohmann::ordered_json out;
  try {
    std::ifstream in(manifest_path);
    if (!in) throw std::runtime_error(manifest_path + ": cannot read (deploy/dev-env.sh up writes it)");
    const nlohmann::json manifest = nlohmann::json::parse(in);
    s.client.endpoint = manifest.at("endpoint");
    s.client.ca_file = manifest.at("ca_cert").get<std::string>();
    s.client.connect_timeout_s = 10;
    s.client.recv_timeout_s = s.client.send_timeout_s = 30;
    for (const auto& t : manifest.at("tsms"))
      if (t.at("name") == tsm_name) {
        s.client.certificate = t.at("cert").get<std::string>();
        s.client.private_key = t.at("key").get<std::string>();
        for (const auto& k : t.at("keks"))
          if (k.at("index") == kek_index) s.kek = k;
      }
    if (s.client.certificate.empty()) throw std::runtime_error("the manifest has no TSM " + tsm_name);
    s.payload.assign(static_cast<std::size_t>(payload_bytes), 'p');
    if (s.op == "keys") {
      for (const auto& k : manifest.at("key_sets"))
        if (k.at("issuer") == key_set_name || k.at("key_type") == key_set_name) s.key_set = k;
      if (s.key_set.is_null()) throw std::runtime_error("the manifest has no key set " + key_set_name);
      if (s.kek.is_null()) throw std::runtime_error(tsm_name + " has no KEK " + std::to_string(kek_index));
      const auto type = gp::parse_key_type(s.key_set.at("key_type").get<std::string>());
      if (!type) throw std::runtime_error("unknown key type in the manifest");
      const auto kvn = s.key_set.at("kvn").get<std::uint8_t>();
      const int scp = s.key_set.at("scp").is_string() ? std::stoi(s.key_set.at("scp").get<std::string>())
                                                      : s.key_set.at("scp").get<int>();
      s.counter_width = scp == 2 ? 2 : 3;
      s.base.key_information = key_information_for(*type, kvn);
      s.base.kek_index = kek_index;
      s.base.key_set_version = kvn;
      s.base.iin = gp::from_hex(s.key_set.at("iin").get<std::string>());
      verify_keys(s);
    }

    out["op"] = s.op;
    if (s.op == "keys") {
      out["key_set"] = s.key_set.at("issuer");
      out["key_type"] = s.key_set.at("key_type");
    }
    out["mode"] = s.mode;
    out["connections"] = connections;
    out["open_loop_rate"] = rate;
    out["idle_connections"] = idle;
    if (server_pid > 0) out["server_memory_before"] = memory_of(server_pid);

    // Idle connections: opened (a full handshake and one WSPing each) by a few threads.
    std::vector<std::unique_ptr<service::Client>> idle_clients(static_cast<std::size_t>(idle));
    std::atomic<long> idle_failed{0};
    if (idle > 0) {
      std::cerr << "opening " << idle << " idle connections...\n";
      const auto t0 = Clock::now();
      std::vector<std::thread> openers;
      std::atomic<std::size_t> next{0};
      for (int t = 0; t < 4; ++t)
        openers.emplace_back([&] {
          for (std::size_t i; (i = next++) < idle_clients.size();) {
            auto c = std::make_unique<service::Client>(s.client);
            if (std::holds_alternative<std::string>(c->ping("idle"))) idle_clients[i] = std::move(c);
            else ++idle_failed;
          }
        });
      for (auto& t : openers) t.join();
      out["idle_open_seconds"] = round3(std::chrono::duration<double>(Clock::now() - t0).count());
      out["idle_failed"] = idle_failed.load();
      if (server_pid > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        out["server_memory_idle"] = memory_of(server_pid);
      }
    }

    // The load.
    std::vector<ThreadResult> results(static_cast<std::size_t>(connections));
    std::atomic<bool> measuring{false}, stop{false};
    std::atomic<int> ready{0};
    const double interval = rate > 0 ? connections / rate : 0;  // seconds between one thread's sends
    Clock::time_point start;
    std::vector<std::thread> threads;
    for (int i = 0; i < connections; ++i)
      threads.emplace_back([&, i] {
        ThreadResult& r = results[static_cast<std::size_t>(i)];
        std::mt19937_64 rng(std::random_device{}() ^ (static_cast<std::uint64_t>(i) << 32));
        std::unique_ptr<service::Client> c;
        c = std::make_unique<service::Client>(s.client);
        ++ready;
        while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        // Open loop: a random phase, then one request every `interval`.
        std::uniform_real_distribution<double> phase(0, interval);
        auto due = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(phase(rng)));
        while (!stop.load(std::memory_order_relaxed)) {
          if (interval > 0) {
            std::this_thread::sleep_until(due);
            if (stop.load(std::memory_order_relaxed)) break;
          }
          const auto sent = Clock::now();
          const bool counted = measuring.load(std::memory_order_relaxed);
          const std::string err = one_request(s, c, rng);
          const auto done = Clock::now();
          if (counted && interval > 0) r.send_delays_ms.push_back(std::chrono::duration<double, std::milli>(sent - due).count());
          if (interval > 0) due += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
          if (!counted || !measuring.load(std::memory_order_relaxed)) continue;  // warm-up, or after the end
          if (err.empty()) {
            ++r.ok;
            r.latencies_ms.push_back(std::chrono::duration<double, std::milli>(done - sent).count());
          } else {
            ++r.errors[err];
          }
        }
      });
    while (ready.load() < connections) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
    start = Clock::now();
    measuring = true;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    measuring = false;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (server_pid > 0) out["server_memory_load"] = memory_of(server_pid);
    stop = true;
    for (auto& t : threads) t.join();

    std::vector<double> all, delays;
    std::map<std::string, long> errors;
    long ok = 0, failed = 0, min_per = -1, max_per = 0;
    for (const auto& r : results) {
      all.insert(all.end(), r.latencies_ms.begin(), r.latencies_ms.end());
      delays.insert(delays.end(), r.send_delays_ms.begin(), r.send_delays_ms.end());
      ok += r.ok;
      min_per = min_per < 0 ? r.ok : std::min(min_per, r.ok);
      max_per = std::max(max_per, r.ok);
      for (const auto& [k, v] : r.errors) {
        errors[k] += v;
        failed += v;
      }
    }
    std::sort(all.begin(), all.end());
    double sum = 0;
    for (double v : all) sum += v;
    out["seconds"] = round3(elapsed);
    out["requests"] = ok;
    out["failed"] = failed;
    out["errors"] = errors;
    out["req_per_s"] = std::round(static_cast<double>(ok) / elapsed * 10) / 10;
    out["min_per_connection"] = min_per;
    out["max_per_connection"] = max_per;
    out["latency_ms"] = {{"mean", round3(all.empty() ? 0 : sum / static_cast<double>(all.size()))},
                         {"p50", round3(percentile(all, 50))},
                         {"p90", round3(percentile(all, 90))},
                         {"p99", round3(percentile(all, 99))},
                         {"max", round3(all.empty() ? 0 : all.back())}};
    if (rate > 0) {
      std::sort(delays.begin(), delays.end());
      out["send_delay_ms"] = {{"p50", round3(percentile(delays, 50))},
                              {"p99", round3(percentile(delays, 99))},
                              {"max", round3(delays.empty() ? 0 : delays.back())}};
    }
    if (idle > 0) {  // are the idle ones still there? (the server closes them after idle_timeout)
      long alive = 0;
      for (auto& c : idle_clients)
        if (c && std::holds_alternative<std::string>(c->ping("still"))) ++alive;
      out["idle_alive_after"] = alive;
    }
    if (server_pid > 0) out["server_memory_after"] = memory_of(server_pid);
    idle_clients.clear();
  } catch (const std::exception& e) {
    std::cerr << "bench_loadgen: " << e.what() << "\n";
    return 1;
  }
  std::cout << out.dump(1) << "\n";
  return 0;
}
