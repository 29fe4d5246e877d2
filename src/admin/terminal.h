// Operator interaction for ceremonies: prompts go to stderr (stdout stays the command's
// output, e.g. --json); answers come from stdin. A secret is read with echo off when stdin is
// a terminal, into a wiping buffer, and never from the command line.
#pragma once

#include <optional>
#include <string>

#include "gp/key_component.h"

namespace sekds::admin {

bool stdin_is_terminal() noexcept;

// One line from stdin (without its line end), after printing `prompt` to stderr; nullopt at
// end of input.
std::optional<std::string> read_line(const std::string& prompt);

// Like read_line, with terminal echo switched off (restored on every path).
std::optional<gp::SecureText> read_secret_line(const std::string& prompt);

// "question [y/N] ": true only for y / yes (any case). End of input is "no".
bool confirm(const std::string& question);

}  // namespace sekds::admin
