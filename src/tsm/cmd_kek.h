// `sekds-tsm kek import | list`: the TSM's KEKs (kek_import.h, kek_registry.h).
#pragma once

namespace CLI {
class App;
}

namespace sekds::tsm {
void register_kek(CLI::App& app);
}
