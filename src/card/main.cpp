// sekds-card: the virtual GlobalPlatform secure element. A thin shell over the sekds_card
// library: each subcommand lives in its own cmd_*.cpp and is registered below.
// Errors end the program with one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "card/commands.h"
#include "process/hardening.h"

int main(int argc, char** argv) {
  sekds::process::harden_process("sekds-card");
  CLI::App app{"sekds-card: virtual GlobalPlatform secure elements (grid over TCP, PC/SC through vpcd)", "sekds-card"};
  app.failure_message([](const CLI::App*, const CLI::Error& e) { return "sekds-card: " + std::string(e.what()) + "\n"; });
  app.require_subcommand(1);

  sekds::card::register_personalise(app);
  sekds::card::register_list(app);
  sekds::card::register_serve(app);
  sekds::card::register_make_loadfile(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "sekds-card: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
