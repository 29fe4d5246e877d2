#include "tsm/flow.h"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "gp/status_word.h"
#include "tsm/local_key_source.h"

namespace sekds::tsm {
namespace {

using Clock = std::chrono::steady_clock;

std::string hex2(std::uint8_t b) {
  char s[8];
  std::snprintf(s, sizeof s, "%02X", b);
  return s;
}

std::string session_detail(const SessionInfo& s) {
  return std::string(gp::scp_name(s.scp)) + " i=" + hex2(s.i) + " " + level_text(s.level) + " " + kvn_text(s.kvn) +
         " counter " + std::to_string(s.sequence_counter) + " (" + s.keys_source + " keys)";
}

}  // namespace

const char* flow_goal_name(FlowGoal g) noexcept {
  switch (g) {
    case FlowGoal::Discover: return "info";
    case FlowGoal::Keys: return "keys";
    case FlowGoal::Open: return "open";
    case FlowGoal::Rotate: return "rotate";
    case FlowGoal::Run: return "run";
  }
  return "?";
}

KeyChoice parse_key_choice(const std::string& s) {
  if (s == "auto") return KeyChoice::Auto;
  if (s == "ttp") return KeyChoice::Ttp;
  if (s == "own") return KeyChoice::Own;
  throw TsmError(TsmErrc::Usage, "--keys: '" + s + "' is not auto, ttp or own");
}

std::string duration_text(std::chrono::microseconds d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3f ms", static_cast<double>(d.count()) / 1000.0);
  return b;
}

FlowResult run_flow(CardTransport& t, const FlowSources& src, const FlowOptions& opt,
                    const std::function<void(const StepTiming&)>& on_step) {
  FlowResult r;
  auto step = [&](const char* name, auto&& fn) {
    const auto t0 = Clock::now();
    std::string detail = translate_errors(name, fn);
    StepTiming s{name, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0), std::move(detail)};
    if (on_step) on_step(s);
    r.steps.push_back(std::move(s));
  };
  try {
    step("discover", [&] {
      r.card = discover_card(t, DiscoverOptions{opt.reset});
      return "KDD " + r.card->kdd.hex() + ", " + gp::scp_name(r.card->scp()) + ", URL " +
             (r.card->url ? r.card->url->str() : std::string("(none)"));
    });
    if (opt.goal == FlowGoal::Discover) return r;
    const CardInfo& card = *r.card;

    // Which source opens the card.
    const OwnKeySet* own_set = src.own ? src.own->find_for(card) : nullptr;
    bool use_own = false;
    if (opt.keys == KeyChoice::Own) {
      if (!src.own) throw TsmError(TsmErrc::Config, "--keys own: no [[own_keys]] in the configuration");
      use_own = true;
    } else if (opt.keys == KeyChoice::Auto && own_set) {
      const auto v = card.key_set_versions();
      use_own = std::find(v.begin(), v.end(), own_set->kvn) != v.end() && (!opt.kvn || *opt.kvn == own_set->kvn);
    }
    step("keys", [&] {
      if (use_own) {
        r.keys = src.own->card_keys(card, opt.kvn);
        return "own key set " + kvn_text(r.keys->kvn) + " (" + gp::key_type_name(r.keys->key_type) + ")";
      }
      if (!src.ttp) throw TsmError(TsmErrc::Config, "no TTP configured ([[ttp]] and [kek_token])");
      // The TTP's key set is the card's one that is not the TSM's own.
      std::optional<std::uint8_t> kvn = opt.kvn;
      if (!kvn && own_set) kvn = choose_kvn(card, std::nullopt, own_set->kvn);
      r.keys = src.ttp->card_keys(card, kvn);
      return "TTP " + r.keys->endpoint + ": " + kvn_text(r.keys->kvn) + " " + gp::key_type_name(r.keys->key_type) +
             ", KCVs verified, AuditId " + r.keys->audit_id;
    });
    if (opt.goal == FlowGoal::Keys) return r;

    std::optional<Session> session;
    step("open", [&] {
      session.emplace(Session::open(t, card, *r.keys, opt.level));
      r.session = session->info();
      return session_detail(*r.session);
    });
    if (opt.goal == FlowGoal::Open) return r;

    const bool rotate = opt.goal == FlowGoal::Rotate || (opt.goal == FlowGoal::Run && opt.rotate_in_run);
    if (rotate) {
      if (use_own) {
        r.already_rotated = true;
        step("rotate", [&] { return std::string("already on the TSM's key set ") + kvn_text(r.keys->kvn) + ": nothing to do"; });
      } else {
        if (!src.own) throw TsmError(TsmErrc::Config, "rotate: no [[own_keys]] in the configuration");
        step("rotate", [&] {
          r.new_keys = src.own->card_keys(card, std::nullopt);
          if (r.new_keys->key_type != r.keys->key_type && card.scp() == gp::Scp::Scp02)
            throw TsmError(TsmErrc::Config, "SCP02 cards take DES2 keys only");
          session->put_key(*r.new_keys, r.keys->kvn);
          return "PUT KEY replaced " + kvn_text(r.keys->kvn) + " with " + kvn_text(r.new_keys->kvn) + " (" +
                 gp::key_type_name(r.new_keys->key_type) + "), card KCVs match";
        });
        step("reopen", [&] {
          session->close();
          session.reset();
          session.emplace(Session::open(t, card, *r.new_keys, opt.level));
          r.reopened = session->info();
          return session_detail(*r.reopened);
        });
      }
    }
    if (opt.goal == FlowGoal::Run && opt.script) {
      step("script", [&] {
        r.script = run_script(*session, *opt.script);
        return std::to_string(r.script.size()) + " commands";
      });
    }
  } catch (const TsmError& e) {
    r.error = e;
  } catch (const std::exception& e) {
    r.error = TsmError(TsmErrc::Internal, e.what());
  }
  return r;
}

nlohmann::ordered_json keys_json(const CardKeys& k, bool reveal) {
  nlohmann::ordered_json j;
  j["source"] = k.source;
  j["kvn"] = k.kvn;
  j["key_type"] = gp::key_type_name(k.key_type);
  j["scp"] = gp::scp_name(k.scp);
  j["kcv_alg"] = gp::kcv_alg_name(k.kcv_alg);
  nlohmann::ordered_json kcv;
  for (auto role : gp::kKeyRoles) {
    std::string n = gp::key_role_name(role);
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    kcv[n] = gp::to_hex(k.kcv_of(role));
  }
  j["kcv"] = kcv;
  if (k.source == "ttp") {
    j["endpoint"] = k.endpoint;
    j["audit_id"] = k.audit_id;
    j["request_id"] = k.request_id;
    if (k.kek_index) j["kek_index"] = *k.kek_index;
    j["kek_kcv"] = gp::to_hex(k.kek_kcv);
    j["attempts"] = k.attempts;
  }
  if (reveal) {
    nlohmann::ordered_json p;
    for (auto role : gp::kKeyRoles) {
      std::string n = gp::key_role_name(role);
      for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      p[n] = gp::to_hex(k.keys.of(role));
    }
    j["plaintext"] = p;
  }
  return j;
}

void print_keys(const CardKeys& k, bool reveal, std::ostream& out) {
  out << "keys              " << (k.source == "ttp" ? "from the TTP " + k.endpoint : std::string("the TSM's own key set")) << '\n';
  out << "key set           " << kvn_text(k.kvn) << ", " << gp::key_type_name(k.key_type) << ", " << gp::scp_name(k.scp) << '\n';
  if (k.source == "ttp") {
    out << "AuditId           " << k.audit_id << '\n';
    out << "RequestId         " << k.request_id << (k.attempts > 1 ? " (" + std::to_string(k.attempts) + " attempts)" : "") << '\n';
    out << "KEK               index " << (k.kek_index ? std::to_string(*k.kek_index) : "?") << ", KCV " << gp::to_hex(k.kek_kcv)
        << " (matches the KEK imported)\n";
  }
  out << "KCV convention    " << gp::kcv_alg_name(k.kcv_alg) << '\n';
  for (auto role : gp::kKeyRoles) {
    out << gp::key_role_name(role) << " KCV           " << gp::to_hex(k.kcv_of(role)) << " (verified)";
    if (reveal) {
      std::string hex = gp::to_hex(k.keys.of(role));
      out << "  key " << hex;
      gp::secure_wipe(hex.data(), hex.size());
    }
    out << '\n';
  }
}

void print_step(const StepTiming& s, std::ostream& out) {
  char b[32];
  std::snprintf(b, sizeof b, "%-9s %10s", s.step.c_str(), duration_text(s.duration).c_str());
  out << "[" << b << "]  " << s.detail << '\n';
}

nlohmann::ordered_json flow_json(const FlowResult& r, bool reveal) {
  nlohmann::ordered_json j;
  j["ok"] = r.ok();
  if (r.card) j["card"] = card_info_json(*r.card);
  if (r.keys) j["keys"] = keys_json(*r.keys, reveal);
  if (r.session) j["session"] = session_json(*r.session);
  if (r.new_keys) j["rotated"] = keys_json(*r.new_keys, reveal);
  if (r.already_rotated) j["already_rotated"] = true;
  if (r.reopened) j["reopened"] = session_json(*r.reopened);
  if (!r.script.empty()) j["script"] = script_results_json(r.script);
  nlohmann::ordered_json steps = nlohmann::ordered_json::array();
  for (const auto& s : r.steps) steps.push_back({{"step", s.step}, {"duration_us", s.duration.count()}, {"detail", s.detail}});
  j["steps"] = steps;
  if (r.error) {
    j["error"] = {{"kind", tsm_errc_name(r.error->code())}, {"name", r.error->name()}, {"message", r.error->what()},
                  {"exit_code", r.error->exit_code()}};
  }
  return j;
}

}  // namespace sekds::tsm
