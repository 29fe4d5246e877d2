// What every subcommand shares: the global options, the configuration, the store and the HSM
// (each opened on first use, so `--help` and pure commands need neither), the operator's
// identity for the audit, and the output (human text, or one JSON document with --json).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "admin/config.h"
#include "admin/errors.h"
#include "hsm/hsm.h"
#include "store/sqlite_store.h"

namespace sekds::admin {

struct GlobalOptions {
  std::string config_path;    // --config, default $SEKDS_CONFIG
  bool json = false;          // --json
  std::string operator_name;  // --operator (in addition to the OS user)
};

class Context {
 public:
  explicit Context(GlobalOptions options);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const GlobalOptions& options() const noexcept { return options_; }
  bool json() const noexcept { return options_.json; }

  const AdminConfig& config();
  store::SqliteStore& store();
  // A USER login to the configured token (service-level operations, master-key imports).
  hsm::Hsm& hsm_user();
  // An SO login (ceremonies that create trusted keys). `so_pin_source` (from --so-pin-source)
  // wins over [hsm] so_pin; one of them is required. One login role per process.
  hsm::Hsm& hsm_so(const std::optional<std::string>& so_pin_source);

  // "alice" (the OS user), or "bob (os user alice)" with --operator bob.
  const std::string& actor() const noexcept { return actor_; }
  // Correlates the audit records of one run: "sekds-admin/<pid>/<start time>".
  const std::string& run_id() const noexcept { return run_id_; }
  store::AuditContext who() const { return {actor_, run_id_}; }

  // Records a refusal the store did not see (the store audits its own refusals) with
  // result = `name`, then throws AdminError(Refused, name, message). If the audit itself
  // cannot be written, says so on stderr; the refusal is still what the caller gets.
  [[noreturn]] void refuse(store::AuditRecord record, const std::string& name, const std::string& message);

  // The record to write if this run then fails in a way nobody audited (an HSM error, a
  // file that cannot be written ...): a change command calls it once its options are valid.
  void track(store::AuditRecord record);
  // Called once with the failure of the run: writes the tracked record with result = the
  // failure's name, unless refuse() or the store (its own refusals) already audited it, or the
  // store itself is what failed.
  void audit_failure(const std::exception_ptr& error, const Failure& failure);

  // A run that printed its result but must still exit non-zero (audit verify on a broken chain).
  void set_exit_code(ExitCode code) noexcept { exit_code_ = code; }
  ExitCode exit_code() const noexcept { return exit_code_; }

  // Prints a result: `data` as JSON on stdout with --json, else human(). One per run.
  void emit(const nlohmann::json& data, const std::function<void()>& human);

 private:
  hsm::HsmConfig hsm_config(hsm::LoginRole role, const std::string& pin_source);

  GlobalOptions options_;
  std::optional<AdminConfig> config_;
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<hsm::Hsm> hsm_;
  std::string actor_, run_id_;
  std::optional<store::AuditRecord> tracked_;
  bool audited_ = false;
  ExitCode exit_code_ = ExitCode::Ok;
};

}  // namespace sekds::admin
