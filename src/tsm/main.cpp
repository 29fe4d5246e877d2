// sekds-tsm: the TSM client program. A thin shell over the sekds_tsm library: every
// subcommand lives in its own cmd_*.cpp and is registered below with one line.
// Errors end the program with one line on stderr ("sekds-tsm: open: ... 6982 SW_...") and the
// exit code of their kind (tsm/error.h).
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "process/hardening.h"
#include "service/tls_init.h"
#include "tsm/cmd_derive.h"
#include "tsm/cmd_flow.h"
#include "tsm/cmd_info.h"
#include "tsm/cmd_kek.h"
#include "tsm/error.h"

int main(int argc, char** argv) {
  sekds::process::harden_process("sekds-tsm");
  CLI::App app{"sekds-tsm: TSM client of the sekds key diversification service", "sekds-tsm"};
  app.footer(
      "Exit codes: 0 success, 1 internal error, 2 usage or configuration, 3 the TTP refused (fault code printed),\n"
      "4 card status word or secure channel failure, 5 card or TTP unreachable (TLS, refused, timeout),\n"
      "6 verification failed (a KCV or response field did not match: keys refused), 7 KEK token (HSM).");
  // Before any subcommand is added: subcommands copy it.
  app.failure_message([](const CLI::App*, const CLI::Error& e) { return "sekds-tsm: " + std::string(e.what()) + "\n"; });
  app.require_subcommand(1);

  sekds::tsm::register_derive(app);
  sekds::tsm::register_info(app);
  sekds::tsm::register_flow_commands(app);
  sekds::tsm::register_kek(app);

  sekds::service::ssl_init();  // before any thread: gSOAP's OpenSSL set-up, SIGPIPE ignored
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sekds::tsm::TsmError& e) {
    std::cout.flush();
    std::cerr << "sekds-tsm: " << e.what() << " [" << e.name() << "]\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "sekds-tsm: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
