// sekds-admin: thin main over the admin library (src/admin/cli.h).
#include "admin/cli.h"

int main(int argc, char** argv) { return sekds::admin::run_cli(argc, argv); }
