#include "admin/cli.h"

#include <algorithm>
#include <iostream>

#include "admin/commands.h"
#include "admin/errors.h"

namespace sekds::admin {

namespace {

constexpr const char* kFooter = R"(Exit codes:
  0  OK
  1  refused: a check failed (wrong KCV, bad certificate, unknown or duplicate name, illegal
     state change, not confirmed, broken audit chain); nothing was changed
  2  usage or configuration error
  3  HSM unavailable or failing
  4  store (database) error
Every change, and every refused change, is recorded in the audit log with the operator
(the OS user, and --operator NAME when given). PINs come from files or the environment
(file:PATH, env:NAME), never from the command line.)";

void report(const Failure& f, bool json) {
  std::cerr << "sekds-admin: " << f.message << "\n";
  if (json) {
    nlohmann::json j = {{"error", {{"name", f.name}, {"message", f.message}}}, {"exit_code", static_cast<int>(f.code)}};
    std::cout << j.dump(2) << "\n";
  }
}

}  // namespace

void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(headers.size());
  for (std::size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t i = 0; i < cells.size() && i < width.size(); ++i) {
      out += cells[i];
      if (i + 1 < cells.size()) out += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    std::cout << out << "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

int run_cli(int argc, char** argv) {
  CLI::App app{"sekds-admin: the operator CLI of sekds (ceremonies with dual control, accreditation, KEKs, audit)",
               "sekds-admin"};
  app.footer(kFooter);
  app.require_subcommand(1);
  // Global options may also follow the subcommand ("sekds-admin tsm list --json").
  app.fallthrough();
  Runner runner;
  app.add_option("--config", runner.global.config_path,
                 "the sekds configuration file (the server's TOML file; default $SEKDS_CONFIG)");
  app.add_flag("--json", runner.global.json, "print the result as JSON on stdout (for scripts)");
  app.add_option("--operator", runner.global.operator_name,
                 "the operator's name, audited with the OS user (e.g. a custodian or ticket name)");
  app.set_version_flag("--version", std::string("sekds-admin ") + SEKDS_VERSION);

  add_init_command(app, runner);
  add_issuer_commands(app, runner);
  add_keyset_commands(app, runner);
  add_tsm_commands(app, runner);
  add_kek_commands(app, runner);
  add_audit_commands(app, runner);
  add_component_commands(app, runner);
  add_hsm_commands(app, runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::Usage);
  } catch (...) {
    // An option validator or callback that refused its value.
    Failure f = classify(std::current_exception());
    report(f, runner.global.json);
    return static_cast<int>(f.code);
  }
  if (!runner.action) {
    std::cerr << app.help();
    return static_cast<int>(ExitCode::Usage);
  }
  std::unique_ptr<Context> ctx;
  try {
    ctx = std::make_unique<Context>(runner.global);
    runner.action(*ctx);
    return static_cast<int>(ctx->exit_code());
  } catch (...) {
    const std::exception_ptr error = std::current_exception();
    Failure f = classify(error);
    if (ctx) ctx->audit_failure(error, f);
    report(f, runner.global.json);
    return static_cast<int>(f.code);
  }
}

}  // namespace sekds::admin
