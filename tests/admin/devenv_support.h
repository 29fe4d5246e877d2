// deploy/dev-env.sh driven from a test: up/down/status in a private directory on a free port,
// with the build tree's binaries; `down` runs on destruction so no server outlives the test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_env.h"
#include "service/client.h"

namespace sekds::test {

class DevEnv {
 public:
  DevEnv(std::filesystem::path dir, std::uint16_t port) : dir_(std::move(dir)), port_(port) {}
  ~DevEnv() { down(); }
  DevEnv(const DevEnv&) = delete;
  DevEnv& operator=(const DevEnv&) = delete;

  RunResult up() { return script({"up", "--port", std::to_string(port_), "--dir", dir_.string()}); }
  RunResult down() { return script({"down", "--dir", dir_.string()}); }
  RunResult status() { return script({"status", "--dir", dir_.string()}); }

  std::uint16_t port() const noexcept { return port_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }
  nlohmann::json manifest() const { return nlohmann::json::parse(read_text(dir_ / "manifest.json")); }

  // sekds-admin on the environment (its config, its token); with --json, exit 0 required.
  RunResult admin(const std::vector<std::string>& args) const {
    const nlohmann::json m = manifest();
    std::vector<std::string> argv = {admin_binary(), "--config", m["config"].get<std::string>()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, "", {"SOFTHSM2_CONF=" + m["softhsm2_conf"].get<std::string>()});
  }
  nlohmann::json admin_json(std::vector<std::string> args) const {
    args.push_back("--json");
    RunResult r = admin(args);
    if (r.rc != 0) throw std::runtime_error("sekds-admin failed (" + std::to_string(r.rc) + "): " + r.err);
    return nlohmann::json::parse(r.out);
  }

  // A SOAP client with the certificate of `tsm` (from the manifest).
  service::ClientOptions client_options(const std::string& tsm) const {
    const nlohmann::json m = manifest();
    service::ClientOptions o;
    o.endpoint = m["endpoint"];
    o.ca_file = m["ca_cert"].get<std::string>();
    for (const auto& t : m["tsms"])
      if (t["name"] == tsm) {
        o.certificate = t["cert"].get<std::string>();
        o.private_key = t["key"].get<std::string>();
      }
    o.connect_timeout_s = o.recv_timeout_s = o.send_timeout_s = 20;
    return o;
  }

 private:
  RunResult script(std::vector<std::string> args) const {
    args.insert(args.begin(), source_dir() + "/deploy/dev-env.sh");
    return run_process(args, "", {std::string("SEKDS_BUILD_DIR=") + SEKDS_BINARY_DIR});
  }

  std::filesystem::path dir_;
  std::uint16_t port_;
};

}  // namespace sekds::test
