// sekds-card make-loadfile: a synthetic, well-formed Java Card load file for demos and tests.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <memory>

#include "card/commands.h"
#include "card/load_file.h"
#include "gp/error.h"

namespace sekds::card {

namespace {

struct MakeLoadFileArgs {
  std::string package, out;
  std::vector<std::string> applets;
  std::size_t size = 0;
};

void run(const MakeLoadFileArgs& a) {
  LoadFileSpec spec;
  spec.package_aid = gp::from_hex(a.package, "--package");
  for (const auto& s : a.applets) spec.applet_aids.push_back(gp::from_hex(s, "--applet"));
  spec.size = a.size;
  const Bytes file = make_load_file(spec);
  std::ofstream o(a.out, std::ios::binary | std::ios::trunc);
  o.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  o.close();
  if (!o) throw std::runtime_error("cannot write " + a.out);
  std::cout << "wrote " << file.size() << " bytes to " << a.out << " (package " << a.package << ", "
            << spec.applet_aids.size() << " applet(s))\n";
}

}  // namespace

void register_make_loadfile(CLI::App& app) {
  auto args = std::make_shared<MakeLoadFileArgs>();
  auto* cmd = app.add_subcommand("make-loadfile",
                                 "write a synthetic load file (CAP Header, Applet and Method components) of a given size");
  cmd->add_option("--package", args->package, "package AID (hex, 5..16 bytes)")->required();
  cmd->add_option("--applet", args->applets, "applet AID (hex); repeat for several");
  cmd->add_option("--size", args->size, "total size in bytes (default: the smallest possible)");
  cmd->add_option("--out", args->out, "output file")->required();
  cmd->callback([args] { run(*args); });
}

}  // namespace sekds::card
