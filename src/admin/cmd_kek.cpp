// `kek generate|activate|retire|list`: a TSM's key-exchange keys.
//
// generate (a ceremony, SO login): the components come from the HSM's RNG (C_GenerateRandom),
// one sheet per custodian (gp/key_component.h, mode 0600), the KEK is combined and created in
// the HSM as a trusted wrap-only key (hsm/kek.h), and recorded pending. If any step fails, what
// the earlier steps made is undone (HSM object destroyed, sheets removed): no orphans.
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "admin/commands.h"
#include "admin/errors.h"
#include "admin/files.h"
#include "admin/json_out.h"
#include "gp/key_component.h"
#include "hsm/error.h"
#include "hsm/kek.h"
#include "hsm/labels.h"
#include "store/time.h"

namespace sekds::admin {

namespace {

struct GenerateOptions {
  std::string tsm;
  std::optional<std::uint32_t> index;
  std::string alg = "AES256";
  unsigned custodians = 2;
  std::string out;
  std::optional<std::string> so_pin_source;
  std::string valid_from, valid_until;
};

struct StateOptions {
  std::string tsm;
  std::uint32_t index = 0;
  bool force = false;
};

std::optional<store::Timestamp> parse_time_option(const char* opt, const std::string& v) {
  if (v.empty()) return std::nullopt;
  auto t = store::parse_timestamp(v);
  if (!t) usage_error(std::string(opt) + ": '" + v + "' is not a time (YYYY-MM-DD[THH:MM[:SS]][Z], UTC)");
  return t;
}

std::string sheet_name(const std::string& tsm, std::uint32_t index, unsigned custodian, unsigned custodians) {
  return "kek-" + tsm + "-" + std::to_string(index) + "-custodian-" + std::to_string(custodian) + "-of-" +
         std::to_string(custodians) + ".txt";
}

// Undoes the ceremony's side effects unless committed.
struct KekRollback {
  hsm::Hsm* hsm = nullptr;
  std::string label;
  std::vector<std::filesystem::path> files;
  bool committed = false;
  ~KekRollback() {
    if (committed) return;
    for (const auto& f : files) ::unlink(f.c_str());
    if (hsm != nullptr) {
      try {
        hsm->destroy_object(label);
      } catch (const std::exception& e) {
        std::cerr << "sekds-admin: warning: could not destroy HSM object '" << label << "': " << e.what() << "\n";
      }
    }
  }
};

void run_generate(Context& ctx, const GenerateOptions& o) {
  store::SqliteStore& st = ctx.store();
  store::AuditRecord rec;
  rec.operation = "kek.add";
  rec.detail = {{"tsm", o.tsm}, {"algorithm", o.alg}, {"custodians", o.custodians}};

  // Usage first: a PIN source that is not one is refused before anything else happens.
  if (o.so_pin_source) normalise_pin_source("--so-pin-source", *o.so_pin_source, std::filesystem::current_path());
  const auto alg = gp::parse_key_type(o.alg);
  if (!alg || !gp::is_aes(*alg)) usage_error("--alg: a KEK is AES128, AES192 or AES256, not '" + o.alg + "'");
  store::KekSpec spec;
  spec.tsm = o.tsm;
  spec.algorithm = *alg;
  spec.valid_from = parse_time_option("--valid-from", o.valid_from);
  spec.valid_until = parse_time_option("--valid-until", o.valid_until);
  if (spec.valid_from && spec.valid_until && !(*spec.valid_from < *spec.valid_until))
    usage_error("--valid-from must be before --valid-until");

  ctx.track(rec);

  // Everything that can be refused is checked before the HSM is touched.
  auto tsm = st.find_tsm(o.tsm);
  if (!tsm) ctx.refuse(rec, "NotFound", "TSM '" + o.tsm + "' not found");
  if (tsm->state == store::TsmState::Revoked) ctx.refuse(rec, "Constraint", "TSM '" + o.tsm + "' is revoked: no new KEKs");
  const auto keks = st.list_keks(o.tsm);
  if (o.index) {
    spec.index = *o.index;
  } else {
    std::uint32_t max = 0;
    for (const auto& k : keks) max = std::max(max, k.spec.index);
    spec.index = max + 1;
  }
  rec.kek_index = spec.index;
  for (const auto& k : keks)
    if (k.spec.index == spec.index)
      ctx.refuse(rec, "Conflict", "TSM '" + o.tsm + "' already has KEK index " + std::to_string(spec.index));
  spec.hsm_label = hsm::kek_label(o.tsm, spec.index);
  rec.detail["hsm_label"] = spec.hsm_label;
  ctx.track(rec);

  const std::filesystem::path dir(o.out);
  std::vector<std::filesystem::path> paths;
  for (unsigned c = 1; c <= o.custodians; ++c) {
    paths.push_back(dir / sheet_name(o.tsm, spec.index, c, o.custodians));
    if (std::filesystem::exists(paths.back()))
      usage_error(paths.back().string() + ": exists already (component files are never overwritten)");
  }

  hsm::Hsm& h = ctx.hsm_so(o.so_pin_source);
  const bool taken = h.with_session("check KEK label", [&](hsm::Session& s) { return h.label_exists(s, spec.hsm_label); });
  if (taken)
    ctx.refuse(rec, "ObjectExists", "an HSM object labelled '" + spec.hsm_label + "' exists already; labels are never reused");

  // Components from the HSM's RNG; the KEK is their XOR.
  const std::size_t len = gp::key_length(*alg);
  std::vector<gp::ComponentSheet> sheets;
  for (unsigned c = 1; c <= o.custodians; ++c) {
    gp::ComponentSheet k;
    k.purpose = gp::ComponentPurpose::Kek;
    k.tsm = o.tsm;
    k.kek_index = spec.index;
    k.key_type = *alg;
    k.kcv_alg = gp::KcvAlg::AesGp;
    k.custodian = c;
    k.custodians = o.custodians;
    gp::ComponentShare share;
    share.value = h.generate_random(len);
    share.kcv = gp::kcv(gp::KcvAlg::AesGp, gp::view(share.value));
    k.shares.push_back(std::move(share));
    sheets.push_back(std::move(k));
  }
  std::vector<const gp::ComponentShare*> shares;
  for (const auto& s : sheets) shares.push_back(&s.shares[0]);
  const gp::SecureBytes value = gp::xor_shares(shares);
  const gp::Bytes combined_kcv = gp::kcv(gp::KcvAlg::AesGp, gp::view(value));
  for (auto& s : sheets) {
    s.shares[0].combined_kcv = combined_kcv;
    s.comments = {"sekds key component: KEK of TSM " + o.tsm + ", index " + std::to_string(spec.index) + ", " +
                      gp::key_type_name(*alg) + " -- custodian " + std::to_string(s.custodian) + " of " +
                      std::to_string(o.custodians) + ".",
                  "Hand this sheet to custodian " + std::to_string(s.custodian) +
                      " ONLY. The KEK is the XOR of all custodians' components;",
                  "each custodian checks component-kcv, and together they check combined-kcv.",
                  "Made by sekds-admin kek generate (run " + ctx.run_id() + ")."};
  }

  KekRollback rb;
  spec.kcv = hsm::KekStore(h).create_kek(spec.hsm_label, gp::view(value));
  rb.hsm = &h;
  rb.label = spec.hsm_label;
  if (spec.kcv != combined_kcv)
    ctx.refuse(rec, "KcvMismatch", "the KEK in the HSM has KCV " + gp::to_hex(spec.kcv) + ", the components give " +
                                       gp::to_hex(combined_kcv));
  ensure_private_dir(dir);
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    write_private_file(paths[i], gp::format_key_component(sheets[i]));
    rb.files.push_back(paths[i]);
  }
  const store::AuditId id = st.add_kek(ctx.who(), spec);  // audits itself (kek.add), refusals too
  rb.committed = true;

  nlohmann::json files = nlohmann::json::array();
  for (std::size_t i = 0; i < sheets.size(); ++i)
    files.push_back({{"custodian", i + 1},
                     {"path", std::filesystem::absolute(paths[i]).string()},
                     {"component_kcv", gp::to_hex(sheets[i].shares[0].kcv)}});
  nlohmann::json out = {{"tsm", o.tsm},
                        {"index", spec.index},
                        {"algorithm", gp::key_type_name(*alg)},
                        {"kcv", gp::to_hex(spec.kcv)},
                        {"kcv_alg", gp::kcv_alg_name(gp::KcvAlg::AesGp)},
                        {"state", "pending"},
                        {"hsm_label", spec.hsm_label},
                        {"components", files},
                        {"audit_id", id}};
  ctx.emit(out, [&] {
    std::cout << "KEK index " << spec.index << " of TSM '" << o.tsm << "' created in the HSM as '" << spec.hsm_label
              << "' (" << gp::key_type_name(*alg) << ", trusted, wrap only), state pending (audit " << id << ")\n"
              << "combined KCV (AES-ECB-01): " << gp::to_hex(spec.kcv) << "\n";
    for (std::size_t i = 0; i < sheets.size(); ++i)
      std::cout << "  custodian " << (i + 1) << ": " << paths[i].string()
                << "  (component KCV " << gp::to_hex(sheets[i].shares[0].kcv) << ")\n";
    std::cout << "Deliver each sheet to its custodian only; activate with: sekds-admin kek activate --tsm " << o.tsm
              << " --index " << spec.index << "\n";
  });
}

store::Kek require_kek(Context& ctx, store::AuditRecord& rec, const std::string& tsm, std::uint32_t index) {
  if (!ctx.store().find_tsm(tsm)) ctx.refuse(rec, "NotFound", "TSM '" + tsm + "' not found");
  auto k = ctx.store().find_kek(tsm, index);
  if (!k) ctx.refuse(rec, "NotFound", "KEK index " + std::to_string(index) + " of TSM '" + tsm + "' not found");
  return *k;
}

void run_activate(Context& ctx, const StateOptions& o) {
  store::AuditRecord rec;
  rec.operation = "kek.activate";
  rec.kek_index = o.index;
  rec.detail = {{"tsm", o.tsm}};
  ctx.track(rec);
  const store::Kek k = require_kek(ctx, rec, o.tsm, o.index);
  // Only a KEK whose HSM copy is there, is the key its ceremony recorded (its check wrap, no
  // KCV oracle: hsm/kek.h) and matches the recorded KCV becomes usable.
  if (k.state == store::KekState::Pending) {
    gp::Bytes in_hsm;
    try {
      in_hsm = hsm::KekStore(ctx.hsm_user()).kek_kcv(k.spec.hsm_label);
    } catch (const hsm::HsmError& e) {
      if (e.unavailable()) throw;
      if (e.code() == hsm::HsmErrc::KcvMismatch) ctx.refuse(rec, "KcvMismatch", e.what());
      if (e.code() != hsm::HsmErrc::ObjectNotFound) throw;
      ctx.refuse(rec, "ObjectNotFound", "the HSM has no KEK '" + k.spec.hsm_label + "': " + e.what());
    }
    if (in_hsm != k.spec.kcv)
      ctx.refuse(rec, "KcvMismatch", "the KEK '" + k.spec.hsm_label + "' in the HSM has KCV " + gp::to_hex(in_hsm) +
                                         ", the record says " + gp::to_hex(k.spec.kcv));
  }
  const store::AuditId id = ctx.store().activate_kek(ctx.who(), o.tsm, o.index);
  auto now = ctx.store().find_kek(o.tsm, o.index);
  nlohmann::json out = to_json(*now);
  out["audit_id"] = id;
  ctx.emit(out, [&] {
    std::cout << "KEK index " << o.index << " of TSM '" << o.tsm << "' is active (KCV " << gp::to_hex(now->spec.kcv)
              << ", audit " << id << ")\n";
  });
}

void run_retire(Context& ctx, const StateOptions& o) {
  store::AuditRecord rec;
  rec.operation = "kek.retire";
  rec.kek_index = o.index;
  rec.detail = {{"tsm", o.tsm}, {"force", o.force}};
  const store::Kek k = require_kek(ctx, rec, o.tsm, o.index);
  if (k.state == store::KekState::Active && !o.force) {
    std::size_t active = 0;
    for (const auto& other : ctx.store().list_keks(o.tsm))
      if (other.state == store::KekState::Active) ++active;
    if (active <= 1)
      ctx.refuse(rec, "OnlyActiveKek",
                 "KEK index " + std::to_string(o.index) + " is the only active KEK of TSM '" + o.tsm +
                     "': retiring it stops every key release to that TSM; activate another first, or give --force");
  }
  const store::AuditId id = ctx.store().retire_kek(ctx.who(), o.tsm, o.index);
  auto now = ctx.store().find_kek(o.tsm, o.index);
  nlohmann::json out = to_json(*now);
  out["audit_id"] = id;
  ctx.emit(out, [&] {
    std::cout << "KEK index " << o.index << " of TSM '" << o.tsm << "' is retired (audit " << id
              << "); requests with it are refused (KekNotActive)\n";
  });
}

void run_list(Context& ctx, const std::string& tsm) {
  auto keks = ctx.store().list_keks(tsm.empty() ? std::nullopt : std::optional<std::string_view>(tsm));
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  auto t = [](const std::optional<store::Timestamp>& x) { return x ? store::format_timestamp(*x) : std::string("-"); };
  for (const auto& k : keks) {
    out.push_back(to_json(k));
    rows.push_back({k.spec.tsm, std::to_string(k.spec.index), gp::key_type_name(k.spec.algorithm), gp::to_hex(k.spec.kcv),
                    store::kek_state_name(k.state), store::format_timestamp(k.created), t(k.activated), t(k.retired)});
  }
  ctx.emit({{"keks", out}}, [&] {
    print_table({"TSM", "INDEX", "ALG", "KCV", "STATE", "CREATED", "ACTIVATED", "RETIRED"}, rows);
  });
}

}  // namespace

void add_kek_commands(CLI::App& app, Runner& r) {
  CLI::App* kek = app.add_subcommand("kek", "TSM key-exchange keys (KEKs): ceremonies and rotation");
  kek->require_subcommand(1);

  auto g = std::make_shared<GenerateOptions>();
  CLI::App* gen = kek->add_subcommand(
      "generate", "KEK ceremony (SO PIN): random components from the HSM, one sheet per custodian (0600), the KEK "
                  "made trusted in the HSM, recorded pending");
  gen->add_option("--tsm", g->tsm, "the TSM")->required();
  gen->add_option("--index", g->index, "the KEK index (default: the TSM's highest + 1)");
  gen->add_option("--alg", g->alg, "AES128, AES192 or AES256")->default_str("AES256");
  gen->add_option("--custodians", g->custodians, "number of custodians (components)")
      ->check(CLI::IsMember({2u, 3u}))
      ->default_str("2");
  gen->add_option("--out", g->out, "directory for the component sheets (created 0700 if missing)")->required();
  gen->add_option("--so-pin-source", g->so_pin_source,
                  "where the SO PIN is: file:PATH or env:NAME (default: [hsm] so_pin of the configuration)");
  gen->add_option("--valid-from", g->valid_from, "optional start of validity (UTC, YYYY-MM-DD[THH:MM[:SS]])");
  gen->add_option("--valid-until", g->valid_until, "optional end of validity (UTC)");
  gen->callback([&r, g] { r.set([g](Context& c) { run_generate(c, *g); }); });

  auto a = std::make_shared<StateOptions>();
  CLI::App* act = kek->add_subcommand("activate", "make a pending KEK active (its HSM copy's KCV is checked first)");
  act->add_option("--tsm", a->tsm, "the TSM")->required();
  act->add_option("--index", a->index, "the KEK index")->required();
  act->callback([&r, a] { r.set([a](Context& c) { run_activate(c, *a); }); });

  auto rt = std::make_shared<StateOptions>();
  CLI::App* ret = kek->add_subcommand("retire", "retire an active KEK (refused for a TSM's only active KEK unless --force)");
  ret->add_option("--tsm", rt->tsm, "the TSM")->required();
  ret->add_option("--index", rt->index, "the KEK index")->required();
  ret->add_flag("--force", rt->force, "retire even the TSM's only active KEK");
  ret->callback([&r, rt] { r.set([rt](Context& c) { run_retire(c, *rt); }); });

  auto tsm = std::make_shared<std::string>();
  CLI::App* list = kek->add_subcommand("list", "list KEKs (index, algorithm, KCV, state)");
  list->add_option("--tsm", *tsm, "only this TSM's KEKs");
  list->callback([&r, tsm] { r.set([tsm](Context& c) { run_list(c, *tsm); }); });
}

}  // namespace sekds::admin
