// `sekds-tsm info`: reads and prints the card's data (steps 1-2), the TTP URL first.
#pragma once

namespace CLI {
class App;
}

namespace sekds::tsm {
void register_info(CLI::App& app);
}
