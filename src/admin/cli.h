// sekds-admin's command line: parses argv, runs the chosen subcommand, translates errors once
// into an exit code (admin/errors.h) and a message (stderr; also JSON on stdout with --json).
#pragma once

namespace sekds::admin {

int run_cli(int argc, char** argv);

}  // namespace sekds::admin
