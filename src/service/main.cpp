// sekds-server: thin main over src/service (configuration, logging, the store, the HSM, the key
// release, the server, signals).
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "hsm/error.h"
#include "hsm/hsm.h"
#include "process/hardening.h"
#include "service/authorizer.h"
#include "service/config.h"
#include "service/key_release_service.h"
#include "service/logging.h"
#include "service/metrics.h"
#include "service/server.h"
#include "service/service_metrics.h"
#include "store/sqlite_store.h"
#include "store/store_error.h"

namespace {

using namespace sekds;
using namespace sekds::service;

// Without [hsm] and [store] the server only answers WSPing, /healthz and /metrics; every key
// operation answers HsmUnavailable.
class NotConfiguredKeyService : public KeyService {
 public:
  std::variant<GetKeysResponse, Fault> get_diversified_keys(const CallerIdentity&, const GetKeysRequest&) override {
    return Fault{FaultCode::HsmUnavailable, "key release is not configured on this server"};
  }
  std::variant<std::vector<KekInfo>, Fault> get_kek_info(const CallerIdentity&) override {
    return Fault{FaultCode::HsmUnavailable, "key release is not configured on this server"};
  }
};

// A start-up failure: one line naming the configuration key.
struct StartupError {
  std::string line;
};

std::unique_ptr<store::SqliteStore> open_store(const StoreConfig& c) {
  std::error_code ec;
  if (!std::filesystem::exists(c.path, ec))
    throw StartupError{"store.path: " + c.path.string() + " does not exist (create it with sekds-admin init)"};
  try {
    return store::SqliteStore::open(c.path);
  } catch (const store::StoreError& e) {
    std::string hint;
    if (e.code() == store::StoreErrc::SchemaTooNew) hint = " (a newer sekds migrated it: run that version)";
    throw StartupError{"store.path: " + c.path.string() + ": " + e.name() + ": " + e.what() + hint};
  }
}

std::unique_ptr<hsm::Hsm> open_hsm(const HsmConfig& c, unsigned workers) {
  try {
    hsm::HsmConfig hc;
    hc.module_path = c.module.string();
    hc.token = c.token;
    hc.pin = hsm::PinSource::parse(c.pin);
    hc.role = hsm::LoginRole::User;
    hc.max_sessions = std::max<std::size_t>(16, workers + 2);  // one per worker, never a wait
    return std::make_unique<hsm::Hsm>(std::move(hc), hsm::ConnectMode::Now);
  } catch (const hsm::HsmError& e) {
    std::string key = "hsm";
    switch (e.code()) {
      case hsm::HsmErrc::ModuleLoad: key = "hsm.module"; break;
      case hsm::HsmErrc::TokenNotFound:
      case hsm::HsmErrc::TokenAmbiguous:
      case hsm::HsmErrc::BadUri: key = "hsm.token"; break;
      case hsm::HsmErrc::PinSource:
      case hsm::HsmErrc::LoginRefused: key = "hsm.pin"; break;
      default: break;
    }
    std::string what = e.what();
    // The name first, so CKR_PIN_INCORRECT and friends are in every such line.
    if (what.find(e.name()) == std::string::npos) what = e.name() + ": " + what;
    throw StartupError{key + ": " + what};
  }
}

}  // namespace

int main(int argc, char** argv) {
  sekds::process::harden_process("sekds-server");
  // Before anything that may start a thread (the logger, the store's checkpointer, the PKCS#11
  // module): such threads inherit the mask, so SIGTERM reaches run_until_signal's sigtimedwait
  // and drains the server instead of killing it. A signal during start-up waits until then.
  sekds::process::block_termination_signals();
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

  // Declared before the server so they outlive it (destroyed in reverse order).
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<hsm::Hsm> hsm;
  std::unique_ptr<KeyReleaseService> release;
  NotConfiguredKeyService not_configured;
  KeyService* keys = &not_configured;
  if (config.hsm && config.store) {
    try {
      store = open_store(*config.store);
      hsm = open_hsm(*config.hsm, config.workers);
    } catch (const StartupError& e) {
      std::cerr << "sekds-server: " << config_path << ": " << e.line << "\n";
      log_json(spdlog::level::critical, {{"event", "startup_failed"}, {"error", e.line}});
      return 1;
    }
    ReleaseOptions options = ReleaseOptions::from(config.release);
    options.commit_stats = [s = store.get()] { return s->group_commit_stats(); };
    release = std::make_unique<KeyReleaseService>(*store, *hsm, metrics, std::move(options));
    keys = release.get();
    registry.callback_gauge("sekds_hsm_connected", "1 while the HSM connection is up",
                            [h = hsm.get()] { return h->status().connected ? 1.0 : 0.0; });
    // The store's background WAL checkpoints: failures (disk full, say) let the WAL grow until
    // writers checkpoint themselves at its hard limit, in the request path.
    registry.callback_gauge("sekds_store_wal_checkpoints", "WAL checkpoints done by the store's own thread",
                            [s = store.get()] { return static_cast<double>(s->wal_checkpoint_stats().checkpoints); });
    registry.callback_gauge("sekds_store_wal_checkpoint_failures", "WAL checkpoints that failed (retried)",
                            [s = store.get()] { return static_cast<double>(s->wal_checkpoint_stats().failures); });
    registry.callback_gauge(
        "sekds_store_wal_writer_checkpoints", "WAL checkpoints a committing request had to run (WAL at its hard limit)",
        [s = store.get()] { return static_cast<double>(s->wal_checkpoint_stats().writer_fallbacks); });
    log_json(spdlog::level::info, {{"event", "key_release_ready"}, {"token", config.hsm->token},
                                   {"store_schema", store->schema_version()},
                                   {"reject_counter_anomaly", config.release.reject_counter_anomaly}});
  } else {
    log_json(spdlog::level::warn, {{"event", "key_release_not_configured"},
                                   {"detail", "no [hsm] and [store]: key operations answer HsmUnavailable"}});
  }

  Server server(config, *keys, metrics);
  if (release) {
    server.set_health_check([r = release.get()] { return r->health(); });
    // /healthz and /metrics: accredited TSMs (the same store lookup as every key request), on
    // top of the [monitoring] fingerprints. StoreError escapes: the server answers 503.
    server.set_accreditation_check([s = store.get()](const CallerIdentity& who) {
      return std::holds_alternative<store::Tsm>(Authorizer(*s).caller(who));
    });
    // After the last connection closed: every record handed to the store is durable.
    server.set_on_shutdown([r = release.get()] {
      r->flush();
      log_json(spdlog::level::info, {{"event", "audit_flushed"}});
    });
  }
  try {
    return run_until_signal(server);
  } catch (const ServerError& e) {
    std::cerr << "sekds-server: " << e.what() << "\n";
    return 1;
  }
}
