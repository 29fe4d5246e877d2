// sekds-server: thin main over src/service (configuration, logging, the server, signals).
#include <iostream>

#include <CLI/CLI.hpp>

#include "service/config.h"
#include "service/logging.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/service_metrics.h"

namespace {

using namespace sekds::service;

// Until the key-release step wires the HSM and the store, every key operation answers
// HsmUnavailable (WSPing, /healthz and /metrics work).
class NotConfiguredKeyService : public KeyService {
 public:
  std::variant<GetKeysResponse, Fault> get_diversified_keys(const CallerIdentity&, const GetKeysRequest&) override {
    return Fault{FaultCode::HsmUnavailable, "key release is not configured on this server"};
  }
  std::variant<std::vector<KekInfo>, Fault> get_kek_info(const CallerIdentity&) override {
    return Fault{FaultCode::HsmUnavailable, "key release is not configured on this server"};
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sekds-server: releases diversified card keys to TSMs over mutual-TLS SOAP"};
  std::string config_path;
  bool check_only = false;
  app.add_option("--config", config_path, "configuration file (TOML)")->required();
  app.add_flag("--check-config", check_only, "validate the configuration and its files, then exit (0 valid, 1 not)");
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> warnings;
  ServerConfig config;
  try {
    config = load_config(config_path, warnings);
  } catch (const ConfigError& e) {
    std::cerr << "sekds-server: " << e.what() << "\n";
    return 1;
  }
  for (const auto& w : warnings) std::cerr << "sekds-server: warning: " << w << "\n";
  if (check_only) {
    std::cout << "sekds-server: " << config_path << ": configuration OK\n";
    return 0;
  }

  try {
    configure_logging(config.log_level, config.log_file);
  } catch (const std::exception& e) {
    std::cerr << "sekds-server: " << e.what() << "\n";
    return 1;
  }
  ssl_init();
  MetricsRegistry registry;
  ServiceMetrics metrics(registry);
  NotConfiguredKeyService keys;
  Server server(config, keys, metrics);
  try {
    return run_until_signal(server);
  } catch (const ServerError& e) {
    std::cerr << "sekds-server: " << e.what() << "\n";
    return 1;
  }
}
