// `keyset import|generate|list`: issuers' master key sets.
//
// import is a dual-control ceremony: 2 or 3 components, from sheets or typed at a prompt
// (never argv); each component's KCV is shown and checked, then the combined key's; the
// operator confirms (or --yes). Nothing is written — HSM or database — when a check fails; if
// the database refuses after the HSM objects were made, they are destroyed (no orphans).
#include <iostream>

#include "admin/commands.h"
#include "admin/components.h"
#include "admin/errors.h"
#include "admin/json_out.h"
#include "admin/terminal.h"
#include "gp/error.h"
#include "hsm/error.h"
#include "hsm/labels.h"
#include "hsm/master_keys.h"
#include "store/validate.h"

namespace sekds::admin {

namespace {

struct KeySetOptions {
  std::string issuer;
  unsigned kvn = 0;
  std::string scp;
  std::string i;
  std::string method;
  std::string layout, constants;
  std::string key_type;
  bool per_role = false;
  // import only
  std::vector<std::string> components;
  bool prompt = false;
  unsigned custodians = 2;
  std::vector<std::string> combined_kcv;
  bool yes = false;
};

struct Prepared {
  store::KeySetSpec spec;       // labels and KCVs filled in later
  hsm::MasterKeySetSpec hsm;
  store::AuditRecord rec;
};

std::uint8_t parse_scp(const std::string& s) {
  if (s == "02" || s == "2") return 2;
  if (s == "03" || s == "3") return 3;
  usage_error("--scp: 02 or 03, not '" + s + "'");
}

std::uint8_t parse_i(const std::string& s, std::uint8_t scp) {
  if (s.empty()) return scp == 2 ? 0x55 : 0x70;
  std::string_view v = s;
  if (v.size() > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) v.remove_prefix(2);
  gp::Bytes b;
  try {
    b = gp::from_hex(v, "--i");
  } catch (const gp::GpError& e) {
    usage_error(e.what());
  }
  if (b.size() != 1) usage_error("--i: one byte in hex (e.g. 55, 70), not '" + s + "'");
  return b[0];
}

// Checks everything about the key set that does not need the components, and records the
// refusals: options, names, the issuer, a free (issuer, kvn).
Prepared prepare(Context& ctx, const KeySetOptions& o, const char* source) {
  Prepared p;
  p.rec.operation = "keyset.add";
  p.rec.issuer = o.issuer;
  if (o.kvn >= 1 && o.kvn <= 255) p.rec.kvn = static_cast<std::uint8_t>(o.kvn);
  const auto type = gp::parse_key_type(o.key_type);
  if (!type) usage_error("--key-type: DES2, DES3, AES128, AES192 or AES256, not '" + o.key_type + "'");
  const auto method = gp::parse_method(o.method);
  if (!method) usage_error("--method: none, emv, visa2, kdf3 or scp03kdf, not '" + o.method + "'");
  const std::uint8_t scp = parse_scp(o.scp);
  p.rec.detail = {{"scp", scp},
                  {"key_type", gp::key_type_name(*type)},
                  {"method", gp::method_name(*method)},
                  {"per_role", o.per_role},
                  {"source", source}};
  ctx.track(p.rec);

  store::KeySetSpec& s = p.spec;
  s.issuer = o.issuer;
  s.kvn = static_cast<std::uint8_t>(std::min(o.kvn, 255u));
  s.scp = scp;
  s.scp_i = parse_i(o.i, scp);
  s.key_type = *type;
  s.method = *method;
  s.kdf_layout = o.layout;
  s.kdf_constants = o.constants;
  s.kcv_alg = gp::gp_kcv_alg(*type);
  p.rec.detail["i"] = hex_byte(s.scp_i);
  if (o.kvn < 1 || o.kvn > 127) ctx.refuse(p.rec, "InvalidArgument", "key set version must be 1..127, got " + std::to_string(o.kvn));
  try {
    hsm::check_name("issuer", o.issuer);
  } catch (const hsm::HsmError& e) {
    ctx.refuse(p.rec, "InvalidArgument", e.what());
  }
  const hsm::MasterKeyRef ref = hsm::MasterKeyRef::of_key_set(o.issuer, o.kvn, !o.per_role);
  s.hsm_labels = {ref.enc, ref.mac, ref.dek};
  // The store's own checks (SCP vs key type, method vs key type, KDF layout), before any HSM work.
  try {
    store::KeySetSpec draft = s;
    draft.kcvs = {gp::Bytes(3), gp::Bytes(3), gp::Bytes(3)};
    s = store::validate::key_set(draft);
    s.kcvs = {};
  } catch (const store::StoreError& e) {
    ctx.refuse(p.rec, e.name(), e.what());
  }
  if (!s.kdf_layout.empty()) p.rec.detail["kdf_layout"] = s.kdf_layout;
  ctx.track(p.rec);
  if (!ctx.store().find_issuer(o.issuer)) ctx.refuse(p.rec, "NotFound", "issuer '" + o.issuer + "' not found");
  if (ctx.store().find_key_set(o.issuer, s.kvn))
    ctx.refuse(p.rec, "Conflict", "issuer '" + o.issuer + "' already has key set version " + std::to_string(o.kvn));

  p.hsm.issuer = o.issuer;
  p.hsm.kvn = o.kvn;
  p.hsm.key_type = *type;
  p.hsm.shared = !o.per_role;
  p.hsm.method = *method;
  // The ceremony records the chaining values of this layout beside the masters.
  if (!s.kdf_layout.empty())
    p.hsm.layout = gp::KdfLayout::parse(s.kdf_layout, s.kdf_constants.empty() ? "01,02,03" : s.kdf_constants);
  return p;
}

// Runs the HSM step, then the store step; undoes the HSM step if the store refuses.
store::AuditId commit(Context& ctx, Prepared& p, const std::function<hsm::MasterKeySet(hsm::MasterKeyStore&)>& make) {
  hsm::Hsm& h = ctx.hsm_user();
  hsm::MasterKeyStore keys(h);
  hsm::MasterKeySet made;
  try {
    made = make(keys);
  } catch (const hsm::HsmError& e) {
    if (e.unavailable() || e.code() == hsm::HsmErrc::Pkcs11 || e.code() == hsm::HsmErrc::LoginRefused) throw;
    ctx.refuse(p.rec, e.name(), e.what());
  }
  p.spec.hsm_labels = {made.ref.enc, made.ref.mac, made.ref.dek};
  p.spec.kcvs = {made.kcv_enc, made.kcv_mac, made.kcv_dek};
  p.spec.kcv_alg = made.kcv_alg;
  try {
    return ctx.store().add_key_set(ctx.who(), p.spec);
  } catch (...) {
    std::vector<std::string> labels = {made.ref.enc};
    if (!made.ref.is_shared()) labels = {made.ref.enc, made.ref.mac, made.ref.dek};
    for (const auto& l : labels) {
      try {
        h.destroy_object(l);
      } catch (const std::exception& e) {
        std::cerr << "sekds-admin: warning: could not destroy HSM object '" << l << "' after the database refused: "
                  << e.what() << "\n";
      }
    }
    throw;
  }
}

void print_key_set_result(Context& ctx, const store::KeySet& ks, store::AuditId id, const char* what,
                          nlohmann::json extra) {
  nlohmann::json out = to_json(ks);
  out["audit_id"] = id;
  for (auto& [k, v] : extra.items()) out[k] = v;
  ctx.emit(out, [&] {
    const store::KeySetSpec& s = ks.spec;
    std::cout << "key set " << int(s.kvn) << " of issuer '" << s.issuer << "' " << what << " (audit " << id << "): SCP"
              << (s.scp == 2 ? "02" : "03") << " i=" << hex_byte(s.scp_i) << ", " << gp::key_type_name(s.key_type)
              << ", " << gp::method_name(s.method) << (s.kdf_layout.empty() ? "" : " [" + s.kdf_layout + "]") << "\n";
    const char* conv = gp::kcv_alg_name(s.kcv_alg);
    if (s.hsm_labels.shared()) {
      std::cout << "  " << s.hsm_labels.enc << "  KCV " << gp::to_hex(s.kcvs.enc) << " (" << conv << ")\n";
    } else {
      std::cout << "  " << s.hsm_labels.enc << "  KCV " << gp::to_hex(s.kcvs.enc) << " (" << conv << ")\n"
                << "  " << s.hsm_labels.mac << "  KCV " << gp::to_hex(s.kcvs.mac) << "\n"
                << "  " << s.hsm_labels.dek << "  KCV " << gp::to_hex(s.kcvs.dek) << "\n";
    }
  });
}

void run_import(Context& ctx, const KeySetOptions& o) {
  // Component sources: sheets, '-' (prompt), or --prompt for all of them.
  std::vector<std::string> sources = o.components;
  if (o.prompt) {
    if (!sources.empty()) usage_error("give --component FILE... or --prompt, not both");
    sources.assign(o.custodians, "-");
  }
  if (sources.size() < 2 || sources.size() > 3)
    usage_error("a key set is imported from 2 or 3 components (--component FILE|- each), got " +
                std::to_string(sources.size()));
  Prepared p = prepare(ctx, o, "components");
  p.rec.detail["custodians"] = sources.size();
  ctx.track(p.rec);

  SheetExpectation e;
  e.purpose = gp::ComponentPurpose::MasterKey;
  e.key_type = p.spec.key_type;
  e.kcv_alg = gp::gp_kcv_alg(p.spec.key_type);
  e.per_role = o.per_role;
  e.issuer = o.issuer;
  e.kvn = o.kvn;
  std::vector<gp::Bytes> combined_kcv;
  try {
    for (const auto& v : o.combined_kcv) combined_kcv.push_back(gp::from_hex(v, "--combined-kcv"));
  } catch (const gp::GpError& err) {
    usage_error(err.what());
  }

  std::vector<gp::ComponentSheet> sheets;
  std::vector<CombinedKey> combined;
  try {
    for (std::size_t i = 0; i < sources.size(); ++i) {
      if (sources[i] == "-") {
        sheets.push_back(prompt_sheet(e, static_cast<unsigned>(i + 1), static_cast<unsigned>(sources.size())));
      } else {
        sheets.push_back(load_sheet(sources[i]));
      }
      // Show each component's KCV as soon as it is in (the custodian compares it with the sheet).
      for (const auto& share : sheets.back().shares)
        std::cerr << "custodian " << sheets.back().custodian << " of " << sheets.back().custodians << ", "
                  << role_text(share.role) << " component: KCV "
                  << gp::to_hex(gp::kcv(e.kcv_alg, gp::view(share.value), share.kcv.size())) << " ("
                  << gp::kcv_alg_name(e.kcv_alg) << "), sheet says " << gp::to_hex(share.kcv) << "\n";
    }
    combined = combine_sheets(sheets, e, combined_kcv, p.rec.detail);
  } catch (const AdminError& err) {
    if (err.code() != ExitCode::Refused) throw;
    ctx.refuse(p.rec, err.name(), err.what());
  }
  for (const auto& k : combined)
    std::cerr << "combined " << (k.role ? role_text(k.role) + " key" : std::string("key")) << ": KCV " << gp::to_hex(k.kcv) << " ("
              << gp::kcv_alg_name(e.kcv_alg) << ")"
              << (k.expected ? ", matches the expected " + gp::to_hex(*k.expected) : std::string(", no expected value given"))
              << "\n";
  if (!o.yes && !confirm("Do these KCVs match the custodians' sheets and the issuer's combined KCV?"))
    ctx.refuse(p.rec, "NotConfirmed", "the operator did not confirm the KCVs (give --yes to confirm non-interactively)");

  // The HSM layer checks every KCV again, in the HSM, before it keeps anything.
  std::vector<hsm::KeyComponents> parts(combined.size());
  for (std::size_t r = 0; r < combined.size(); ++r) {
    for (const auto& s : sheets) {
      const gp::ComponentShare* share = s.share(combined[r].role);
      parts[r].parts.push_back(share->value);
      parts[r].kcvs.push_back(share->kcv);
    }
    parts[r].combined_kcv = combined[r].kcv;
  }
  const store::AuditId id = commit(ctx, p, [&](hsm::MasterKeyStore& keys) { return keys.import_components(p.hsm, parts); });
  auto ks = ctx.store().find_key_set(o.issuer, p.spec.kvn);
  print_key_set_result(ctx, *ks, id, "imported from components", {{"components", p.rec.detail["components"]}});
}

void run_generate(Context& ctx, const KeySetOptions& o) {
  Prepared p = prepare(ctx, o, "generated");
  const store::AuditId id = commit(ctx, p, [&](hsm::MasterKeyStore& keys) { return keys.generate(p.hsm); });
  auto ks = ctx.store().find_key_set(o.issuer, p.spec.kvn);
  print_key_set_result(ctx, *ks, id, "generated in the HSM", nlohmann::json::object());
}

void run_list(Context& ctx, const std::string& issuer) {
  store::KeySetFilter f;
  if (!issuer.empty()) f.issuer = issuer;
  auto sets = ctx.store().list_key_sets(f);
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& k : sets) {
    out.push_back(to_json(k));
    const auto& s = k.spec;
    std::string kcv = gp::to_hex(s.kcvs.enc);
    if (!s.hsm_labels.shared()) kcv += "/" + gp::to_hex(s.kcvs.mac) + "/" + gp::to_hex(s.kcvs.dek);
    rows.push_back({s.issuer, std::to_string(s.kvn), s.scp == 2 ? "02" : "03", hex_byte(s.scp_i),
                    gp::key_type_name(s.key_type), gp::method_name(s.method), s.hsm_labels.shared() ? "shared" : "per-role",
                    kcv, store::key_set_state_name(k.state)});
  }
  ctx.emit({{"key_sets", out}}, [&] {
    print_table({"ISSUER", "KVN", "SCP", "I", "KEY TYPE", "METHOD", "MASTERS", "KCV", "STATE"}, rows);
  });
}

void add_spec_options(CLI::App* cmd, KeySetOptions& o) {
  cmd->add_option("--issuer", o.issuer, "the issuer")->required();
  cmd->add_option("--kvn", o.kvn, "key set version (1..127)")->required();
  cmd->add_option("--scp", o.scp, "secure channel protocol: 02 or 03")->required();
  cmd->add_option("--i", o.i, "the SCP i parameter in hex (default 55 for SCP02, 70 for SCP03)");
  cmd->add_option("--method", o.method, "diversification: none, emv (EMV CPS 1.1), visa2, kdf3 or scp03kdf")->required();
  cmd->add_option("--layout", o.layout, "KDF input layout for kdf3/scp03kdf, e.g. \"i|000000|k|00|kdd\"");
  cmd->add_option("--constants", o.constants, "KDF constants for ENC,MAC,DEK, e.g. \"01,02,03\"");
  cmd->add_option("--key-type", o.key_type, "DES2 (SCP02), AES128, AES192 or AES256 (SCP03)")->required();
  cmd->add_flag("--per-role", o.per_role, "one master key per role (ENC, MAC, DEK) instead of one shared key");
}

}  // namespace

void add_keyset_commands(CLI::App& app, Runner& r) {
  CLI::App* keyset = app.add_subcommand("keyset", "issuers' master key sets (kept in the HSM, never extractable)");
  keyset->require_subcommand(1);

  auto im = std::make_shared<KeySetOptions>();
  CLI::App* imp = keyset->add_subcommand(
      "import", "import a master key set from 2 or 3 custodians' components (dual control; KCVs checked and confirmed)");
  add_spec_options(imp, *im);
  imp->add_option("--component", im->components,
                  "a custodian's component sheet (gp key component format), or - to type it at a prompt; 2 or 3 times");
  imp->add_flag("--prompt", im->prompt, "type every component at a prompt (no echo) instead of sheets");
  imp->add_option("--custodians", im->custodians, "with --prompt: number of custodians")
      ->check(CLI::IsMember({2u, 3u}))
      ->default_str("2");
  imp->add_option("--combined-kcv", im->combined_kcv,
                  "the combined key's KCV from the issuer (one per role with --per-role), if the sheets lack it")
      ->delimiter(',');
  imp->add_flag("--yes", im->yes, "confirm the KCVs non-interactively (they must still match the sheets)");
  imp->callback([&r, im] { r.set([im](Context& c) { run_import(c, *im); }); });

  auto ge = std::make_shared<KeySetOptions>();
  CLI::App* gen = keyset->add_subcommand("generate", "generate a master key set inside the HSM (KCVs printed)");
  add_spec_options(gen, *ge);
  gen->callback([&r, ge] { r.set([ge](Context& c) { run_generate(c, *ge); }); });

  auto issuer = std::make_shared<std::string>();
  CLI::App* list = keyset->add_subcommand("list", "list key sets (labels, KCVs, diversification)");
  list->add_option("--issuer", *issuer, "only this issuer's key sets");
  list->callback([&r, issuer] { r.set([issuer](Context& c) { run_list(c, *issuer); }); });
}

}  // namespace sekds::admin
