// The subcommands of sekds-card, each in its own cmd_*.cpp; main.cpp registers them.
#pragma once

namespace CLI {
class App;
}

namespace sekds::card {

void register_personalise(CLI::App& app);
void register_list(CLI::App& app);
void register_serve(CLI::App& app);
void register_make_loadfile(CLI::App& app);

}  // namespace sekds::card
