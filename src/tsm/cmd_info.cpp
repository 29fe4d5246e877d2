#include "tsm/cmd_info.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "tsm/card_info.h"
#include "tsm/cmd_common.h"
#include "tsm/error.h"

namespace sekds::tsm {

void register_info(CLI::App& app) {
  struct Opts {
    CommonOptions common;
    bool no_reset = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* sub = app.add_subcommand("info", "Read the card's data from its ISD with GET DATA (no secure channel): the TTP URL "
                                             "first, then KDD, key information, sequence counter, IIN, CIN, SCP and i, CPLC.");
  add_common_options(*sub, o->common, false);
  sub->add_flag("--no-reset", o->no_reset, "do not reset the card first");
  sub->callback([o] {
    const CardSpec spec = CardSpec::parse(o->common.card);
    auto t = open_card(spec);
    const CardInfo info = discover_card(*t, DiscoverOptions{!o->no_reset});
    if (o->common.json)
      std::cout << card_info_json(info).dump() << '\n';
    else
      print_card_info(info, std::cout);
  });
}

}  // namespace sekds::tsm
