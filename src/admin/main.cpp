// sekds-admin: thin main over the admin library (src/admin/cli.h).
#include "admin/cli.h"
#include "process/hardening.h"

int main(int argc, char** argv) {
  sekds::process::harden_process("sekds-admin");
  return sekds::admin::run_cli(argc, argv);
}
