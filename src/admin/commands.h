// The subcommands of sekds-admin. Each add_*_commands registers its CLI11 subcommands; their
// callbacks only record the action, which runs after parsing (so a parse error never leaves
// half an action done) with the Context built from the global options.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "admin/context.h"

namespace sekds::admin {

struct Runner {
  GlobalOptions global;
  std::function<void(Context&)> action;
  // Sets the action of the chosen subcommand.
  void set(std::function<void(Context&)> a) { action = std::move(a); }
};

void add_init_command(CLI::App& app, Runner& r);
void add_issuer_commands(CLI::App& app, Runner& r);
void add_keyset_commands(CLI::App& app, Runner& r);
void add_tsm_commands(CLI::App& app, Runner& r);
void add_kek_commands(CLI::App& app, Runner& r);
void add_audit_commands(CLI::App& app, Runner& r);
void add_component_commands(CLI::App& app, Runner& r);
void add_hsm_commands(CLI::App& app, Runner& r);

// Human output helpers.
// Prints rows under headers, columns padded to their widest cell.
void print_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows);

}  // namespace sekds::admin
