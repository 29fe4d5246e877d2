// `sekds-tsm keys | open | rotate | run SCRIPT`: the flow of flow.h over one card, or over a
// range of grid slots with --jobs N worker threads.
#pragma once

namespace CLI {
class App;
}

namespace sekds::tsm {
void register_flow_commands(CLI::App& app);
}
