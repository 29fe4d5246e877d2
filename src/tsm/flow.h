// The TSM's flow over one card (DESIGN §1, steps 1-8), step by step with durations:
//   discover   SELECT ISD + GET DATA (URL first)              steps 1-2
//   keys       TTP call, unwrap, every KCV verified (or own)  steps 3-5
//   open       INITIALIZE UPDATE / EXTERNAL AUTHENTICATE      step 6
//   rotate     PUT KEY: the TTP key set replaced by the TSM's step 7
//   reopen     a new channel with the TSM's keys (the proof)
//   script     the management script                          step 8
// `keys` stops after keys, `open` after open, `rotate` after reopen, `run` does them all.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tsm/card_info.h"
#include "tsm/error.h"
#include "tsm/key_source.h"
#include "tsm/script.h"
#include "tsm/session.h"

namespace sekds::tsm {

class LocalKeySource;

enum class FlowGoal { Discover, Keys, Open, Rotate, Run };
const char* flow_goal_name(FlowGoal g) noexcept;

// Which keys open the card: the TTP's, the TSM's own, or own when the card already lists the
// TSM's KVN and the TTP's otherwise.
enum class KeyChoice { Auto, Ttp, Own };
KeyChoice parse_key_choice(const std::string& s);  // "auto" | "ttp" | "own"; TsmError(Usage)

struct FlowOptions {
  FlowGoal goal = FlowGoal::Keys;
  std::optional<std::uint8_t> kvn;      // the key set to open with (default: chosen from 'E0')
  gp::SecurityLevel level{kDefaultLevel};
  KeyChoice keys = KeyChoice::Auto;
  bool rotate_in_run = true;            // `run` rotates first (steps 7 then 8)
  const Script* script = nullptr;       // FlowGoal::Run
  bool reset = true;
};

struct FlowSources {
  KeySource* ttp = nullptr;         // may be null when only own keys are used
  LocalKeySource* own = nullptr;    // may be null when no rotation / own keys are needed
};

struct StepTiming {
  std::string step;
  std::chrono::microseconds duration{0};
  std::string detail;
};

struct FlowResult {
  std::optional<CardInfo> card;
  std::optional<CardKeys> keys;        // the keys the channel was opened with
  std::optional<SessionInfo> session;
  std::optional<CardKeys> new_keys;    // after rotation
  std::optional<SessionInfo> reopened;
  bool already_rotated = false;
  std::vector<ScriptResult> script;
  std::vector<StepTiming> steps;
  std::optional<TsmError> error;       // set when the flow failed
  bool ok() const noexcept { return !error.has_value(); }
};

// Runs the flow; never throws TsmError (it lands in result.error with the steps done so far).
// `on_step` is called as each step completes (human output streams with it).
FlowResult run_flow(CardTransport& transport, const FlowSources& sources, const FlowOptions& options,
                    const std::function<void(const StepTiming&)>& on_step = {});

// --json: {"ok", "card", "keys", "session", "rotated", "reopened", "script", "steps", "error"}.
// Plaintext keys only with `reveal`.
nlohmann::ordered_json flow_json(const FlowResult& r, bool reveal);
nlohmann::ordered_json keys_json(const CardKeys& k, bool reveal);
void print_keys(const CardKeys& k, bool reveal, std::ostream& out);
void print_step(const StepTiming& s, std::ostream& out);
std::string duration_text(std::chrono::microseconds d);  // "1.234 ms"

}  // namespace sekds::tsm
