#include "tsm/cmd_flow.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "tsm/batch.h"
#include "tsm/cmd_common.h"
#include "tsm/error.h"
#include "tsm/flow.h"
#include "tsm/script.h"

namespace sekds::tsm {
namespace {

struct FlowCliOptions {
  CommonOptions common;
  std::string kvn;
  std::string level;
  std::string keys;
  bool reveal = false;
  bool no_reset = false;
  bool no_rotate = false;
  unsigned jobs = 1;
  std::string script;
};

void print_human(const FlowResult& r, FlowGoal goal, bool reveal) {
  if (r.keys && (goal == FlowGoal::Keys || reveal)) {
    std::cout << '\n';
    print_keys(*r.keys, reveal, std::cout);
  }
  if (r.new_keys && reveal) {
    std::cout << "\nnew keys (the TSM's own):\n";
    print_keys(*r.new_keys, reveal, std::cout);
  }
  if (r.session && goal >= FlowGoal::Open) {
    const SessionInfo& s = r.reopened ? *r.reopened : *r.session;
    std::cout << "\nsession           " << gp::scp_name(s.scp) << " i=" << gp::to_hex(gp::Bytes{s.i}) << ", level "
              << level_text(s.level) << " (" << gp::to_hex(gp::Bytes{s.level.byte()}) << "), " << kvn_text(s.kvn)
              << ", sequence counter " << s.sequence_counter << ", " << s.keys_source << " keys\n";
  }
  for (const auto& sr : r.script) {
    char sw[8];
    std::snprintf(sw, sizeof sw, "%04X", sr.sw);
    std::cout << "  line " << sr.line << ": " << sr.text << "  -> " << sw;
    if (!sr.data.empty()) std::cout << " data " << gp::to_hex(sr.data);
    if (!sr.detail.empty()) std::cout << " (" << sr.detail << ")";
    std::cout << "  " << duration_text(sr.duration) << '\n';
    for (const auto& e : sr.registry) {
      std::cout << "    " << registry_kind_name(e.kind) << " " << gp::to_hex(e.aid) << " " << lifecycle_name(e.kind, e.lifecycle);
      if (e.load_file_aid) std::cout << " from " << gp::to_hex(*e.load_file_aid);
      std::cout << '\n';
    }
  }
}

void run_command(FlowGoal goal, const FlowCliOptions& o) {
  FlowOptions fo;
  fo.goal = goal;
  if (!o.kvn.empty()) fo.kvn = parse_kvn(o.kvn);
  fo.keys = parse_key_choice(o.keys.empty() ? (goal == FlowGoal::Keys ? "ttp" : "auto") : o.keys);
  fo.reset = !o.no_reset;
  fo.rotate_in_run = !o.no_rotate;
  const CardSpec spec = CardSpec::parse(o.common.card);
  if (o.jobs == 0) throw TsmError(TsmErrc::Usage, "--jobs must be at least 1");
  if (o.reveal && spec.is_range()) throw TsmError(TsmErrc::Usage, "--reveal works on one card only");
  std::optional<Script> script;
  if (goal == FlowGoal::Run) {
    script = Script::load(o.script);
    fo.script = &*script;
  }
  const bool need_ttp = fo.keys != KeyChoice::Own;
  const bool need_own = fo.keys != KeyChoice::Ttp || goal >= FlowGoal::Rotate;
  Runtime rt(o.common.config, need_ttp, need_own);
  fo.level = gp::SecurityLevel(rt.config().level);
  if (!o.level.empty()) fo.level = parse_level(o.level);

  if (spec.is_range()) {
    const BatchResult b = run_batch(spec, o.jobs, [&] { return rt.make_ttp(); }, rt.own(), fo);
    if (o.common.json)
      std::cout << batch_json(b).dump() << '\n';
    else
      print_batch(b, std::cout);
    if (const BatchCardResult* first = b.first_failure()) {
      const auto& f = *first;
      throw TsmError(f.code, std::to_string(b.failed) + " of " + std::to_string(b.cards) +
                                              " cards failed; first: slot " + std::to_string(f.slot) + ": " + f.error,
                     f.error_name);
    }
    return;
  }
  auto transport = open_card(spec);
  auto ttp = rt.make_ttp();
  std::function<void(const StepTiming&)> on_step;
  if (!o.common.json) on_step = [](const StepTiming& s) { print_step(s, std::cout); };
  const FlowResult r = run_flow(*transport, FlowSources{ttp.get(), rt.own()}, fo, on_step);
  if (o.common.json) {
    std::string text = flow_json(r, o.reveal).dump();
    std::cout << text << '\n';
    gp::secure_wipe(text.data(), text.size());  // it may hold plaintext keys (--reveal)
  } else {
    print_human(r, goal, o.reveal);
  }
  std::cout.flush();
  if (r.error) throw *r.error;
}

CLI::App* add_flow_command(CLI::App& app, const char* name, const char* help, FlowGoal goal) {
  auto o = std::make_shared<FlowCliOptions>();
  CLI::App* sub = app.add_subcommand(name, help);
  add_common_options(*sub, o->common, true);
  if (goal == FlowGoal::Run) sub->add_option("SCRIPT", o->script, "the management script (see sekds-tsm run --help)")->required();
  sub->add_option("--kvn", o->kvn, "key set version to open with (decimal or 0x30); default: from the card's 'E0'");
  sub->add_option("--keys", o->keys,
                  "which keys open the card: ttp, own (the TSM's key set), or auto (own when the card lists the TSM's KVN); "
                  "default: ttp for `keys`, auto otherwise");
  sub->add_option("--jobs", o->jobs, "worker threads for a range of grid slots (each with its own TLS and grid connection)");
  sub->add_flag("--no-reset", o->no_reset, "do not reset the card first");
  if (goal == FlowGoal::Keys) {
    sub->add_flag("--reveal", o->reveal, "ALSO PRINT THE PLAINTEXT CARD KEYS (lab use only)");
  } else {
    sub->add_option("--level", o->level,
                    "security level: cmac, cmac+cdec (default, or the config's `level`), cmac+rmac, cmac+cdec+rmac, "
                    "cmac+cdec+rmac+renc, or hex 01 03 11 13 33");
    sub->add_flag("--reveal", o->reveal, "ALSO PRINT THE PLAINTEXT CARD KEYS (lab use only)");
  }
  if (goal == FlowGoal::Run) sub->add_flag("--no-rotate", o->no_rotate, "run the script without rotating the keys first");
  sub->callback([o, goal] { run_command(goal, *o); });
  return sub;
}

}  // namespace

void register_flow_commands(CLI::App& app) {
  add_flow_command(app, "keys",
                   "Steps 1-5: read the card, call the TTP its URL names (mutual TLS), unwrap the keys with the TSM's KEK "
                   "and verify every KCV. Prints KCVs and AuditId; plaintext keys only with --reveal.",
                   FlowGoal::Keys);
  add_flow_command(app, "open", "Steps 1-6: ... and open a secure channel (SCP02/SCP03 as the card announces).",
                   FlowGoal::Open);
  add_flow_command(app, "rotate",
                   "Steps 1-7: ... and replace the TTP's key set with the TSM's own (PUT KEY), then open a new channel with "
                   "the new keys to prove it.",
                   FlowGoal::Rotate);
  CLI::App* run = add_flow_command(
      app, "run",
      "Steps 1-8: ... rotate (unless --no-rotate), then run SCRIPT through the channel.\n"
      "Script lines ('#' comments): an APDU in hex, optionally '-> SW' (X = any digit; default 9000); get-status; "
      "load FILE; install PACKAGE APPLET INSTANCE; delete AID [related]; store-data HEX.",
      FlowGoal::Run);
  (void)run;
}

}  // namespace sekds::tsm
