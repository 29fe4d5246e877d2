// sekds-tsm: the TSM client program. A thin shell over the sekds_tsm library: every
// subcommand lives in its own cmd_*.cpp and is registered below with one line.
// Errors end the program with one line on stderr ("sekds-tsm: --kdd: must be 10 bytes, got 9")
// and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "tsm/cmd_derive.h"

int main(int argc, char** argv) {
  CLI::App app{"sekds-tsm: TSM client of the sekds key diversification service", "sekds-tsm"};
  // Before any subcommand is added: subcommands copy it.
  app.failure_message([](const CLI::App*, const CLI::Error& e) { return "sekds-tsm: " + std::string(e.what()) + "\n"; });
  app.require_subcommand(1);

  sekds::tsm::register_derive(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "sekds-tsm: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
