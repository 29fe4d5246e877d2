// `component show|combine|demo-split`: working with key component sheets without the store
// or the HSM (custodian checks, lab and demo set-up).
//
//   show        parse one sheet and check its own KCV (what a custodian does on receipt)
//   combine     check 2..3 sheets together and print the combined KCV; --reveal also prints
//               the combined key (LAB/DEMO ONLY: a real ceremony never shows it)
//   demo-split  make random DEMO sheets in software (dev environment, tests); never for real keys
#include <iostream>

#include "admin/commands.h"
#include "admin/components.h"
#include "admin/errors.h"
#include "admin/files.h"
#include "gp/crypto.h"
#include "gp/error.h"

namespace sekds::admin {

namespace {

nlohmann::json sheet_json(const gp::ComponentSheet& c) {
  nlohmann::json j = {{"purpose", gp::component_purpose_name(c.purpose)},
                      {"key_type", gp::key_type_name(c.key_type)},
                      {"kcv_alg", gp::kcv_alg_name(c.kcv_alg)},
                      {"custodian", c.custodian},
                      {"custodians", c.custodians},
                      {"per_role", c.per_role()}};
  if (c.purpose == gp::ComponentPurpose::Kek) {
    j["tsm"] = c.tsm;
    j["kek_index"] = *c.kek_index;
  } else {
    j["issuer"] = c.issuer;
    j["kvn"] = *c.kvn;
  }
  return j;
}

std::string sheet_title(const gp::ComponentSheet& c) {
  std::string t = c.purpose == gp::ComponentPurpose::Kek
                      ? "KEK of TSM '" + c.tsm + "' index " + std::to_string(*c.kek_index)
                      : "master key set of issuer '" + c.issuer + "' KVN " + std::to_string(*c.kvn);
  return t + ", " + gp::key_type_name(c.key_type) + ", custodian " + std::to_string(c.custodian) + " of " +
         std::to_string(c.custodians);
}

void run_show(Context& ctx, const std::string& file) {
  const gp::ComponentSheet c = load_sheet(file);
  nlohmann::json out = sheet_json(c);
  nlohmann::json shares = nlohmann::json::array();
  std::string mismatch;
  for (const auto& s : c.shares) {
    const gp::Bytes computed = gp::kcv(c.kcv_alg, gp::view(s.value), s.kcv.size());
    const bool ok = gp::equal_ct(computed, s.kcv);
    if (!ok && mismatch.empty())
      mismatch = role_text(s.role) + " component has KCV " + gp::to_hex(computed) + ", the sheet says " + gp::to_hex(s.kcv);
    shares.push_back({{"role", role_text(s.role)},
                      {"kcv", gp::to_hex(s.kcv)},
                      {"kcv_computed", gp::to_hex(computed)},
                      {"kcv_ok", ok},
                      {"combined_kcv", s.combined_kcv ? nlohmann::json(gp::to_hex(*s.combined_kcv)) : nlohmann::json(nullptr)}});
  }
  out["components"] = shares;
  out["ok"] = mismatch.empty();
  ctx.emit(out, [&] {
    std::cout << file << ": " << sheet_title(c) << "\n";
    for (const auto& s : shares)
      std::cout << "  " << s["role"].get<std::string>() << ": KCV " << s["kcv_computed"].get<std::string>() << " ("
                << gp::kcv_alg_name(c.kcv_alg) << ") " << (s["kcv_ok"].get<bool>() ? "matches the sheet" : "DOES NOT match the sheet")
                << (s["combined_kcv"].is_null() ? std::string() : ", combined KCV " + s["combined_kcv"].get<std::string>())
                << "\n";
  });
  if (!mismatch.empty()) {
    std::cerr << "sekds-admin: " << file << ": " << mismatch << "\n";
    ctx.set_exit_code(ExitCode::Refused);
  }
}

void run_combine(Context& ctx, const std::vector<std::string>& files, bool reveal) {
  std::vector<gp::ComponentSheet> sheets;
  for (const auto& f : files) sheets.push_back(load_sheet(f));
  if (sheets.empty()) usage_error("give 2 or 3 sheets");
  nlohmann::json detail = nlohmann::json::object();
  const auto combined = combine_sheets(sheets, expectation_of(sheets.front()), {}, detail);
  nlohmann::json out = sheet_json(sheets.front());
  out.erase("custodian");
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : combined) {
    nlohmann::json j = {{"role", role_text(k.role)},
                        {"kcv", gp::to_hex(k.kcv)},
                        {"expected_kcv", k.expected ? nlohmann::json(gp::to_hex(*k.expected)) : nlohmann::json(nullptr)}};
    if (reveal) j["value"] = gp::to_hex(gp::view(k.value));
    keys.push_back(j);
  }
  out["keys"] = keys;
  if (reveal) {
    out["demo_only"] = true;
    std::cerr << "sekds-admin: WARNING: --reveal prints the combined key. LAB/DEMO ONLY: a real ceremony never shows it.\n";
  }
  ctx.emit(out, [&] {
    std::cout << "combined " << (sheets.front().purpose == gp::ComponentPurpose::Kek ? "KEK" : "master key set") << " from "
              << sheets.size() << " components, all KCVs match:\n";
    for (const auto& k : keys) {
      std::cout << "  " << k["role"].get<std::string>() << ": KCV " << k["kcv"].get<std::string>() << " ("
                << gp::kcv_alg_name(sheets.front().kcv_alg) << ")";
      if (reveal) std::cout << "  value " << k["value"].get<std::string>() << "  (DEMO ONLY)";
      std::cout << "\n";
    }
  });
}

struct SplitOptions {
  std::string purpose = "master-key";
  std::string issuer, tsm;
  unsigned kvn = 0;
  std::uint32_t index = 0;
  std::string key_type;
  bool per_role = false;
  unsigned custodians = 2;
  std::string out;
};

void run_demo_split(Context& ctx, const SplitOptions& o) {
  gp::ComponentSheet base;
  if (o.purpose == "kek") {
    base.purpose = gp::ComponentPurpose::Kek;
    base.tsm = o.tsm;
    base.kek_index = o.index;
  } else if (o.purpose == "master-key") {
    base.purpose = gp::ComponentPurpose::MasterKey;
    base.issuer = o.issuer;
    base.kvn = o.kvn;
  } else {
    usage_error("--purpose: kek or master-key");
  }
  const auto type = gp::parse_key_type(o.key_type);
  if (!type) usage_error("--key-type: DES2, DES3, AES128, AES192 or AES256");
  base.key_type = *type;
  base.kcv_alg = gp::gp_kcv_alg(*type);
  base.custodians = o.custodians;
  const std::size_t roles = o.per_role ? 3 : 1;
  std::vector<gp::ComponentSheet> sheets;
  for (unsigned c = 1; c <= o.custodians; ++c) {
    gp::ComponentSheet k = base;
    k.custodian = c;
    for (std::size_t r = 0; r < roles; ++r) {
      gp::ComponentShare s;
      if (o.per_role) s.role = gp::kKeyRoles[r];
      s.value = gp::random_secure(gp::key_length(*type));
      if (!gp::is_aes(*type)) gp::set_des_parity(s.value);
      s.kcv = gp::kcv(base.kcv_alg, gp::view(s.value));
      k.shares.push_back(std::move(s));
    }
    sheets.push_back(std::move(k));
  }
  for (std::size_t r = 0; r < roles; ++r) {
    std::vector<const gp::ComponentShare*> shares;
    for (const auto& s : sheets) shares.push_back(&s.shares[r]);
    const gp::SecureBytes key = gp::xor_shares(shares);
    const gp::Bytes kcv = gp::kcv(base.kcv_alg, gp::view(key));
    for (auto& s : sheets) s.shares[r].combined_kcv = kcv;
  }
  const std::string stem = base.purpose == gp::ComponentPurpose::Kek
                               ? "kek-" + o.tsm + "-" + std::to_string(o.index)
                               : "mk-" + o.issuer + "-" + std::to_string(o.kvn);
  std::vector<std::filesystem::path> paths;
  for (const auto& s : sheets)
    paths.push_back(std::filesystem::path(o.out) / (stem + "-custodian-" + std::to_string(s.custodian) + "-of-" +
                                                     std::to_string(o.custodians) + ".txt"));
  for (const auto& p : paths)
    if (std::filesystem::exists(p)) usage_error(p.string() + ": exists already (component files are never overwritten)");
  ensure_private_dir(o.out);
  nlohmann::json files = nlohmann::json::array();
  for (std::size_t i = 0; i < sheets.size(); ++i) {
    sheets[i].comments = {"DEMO ONLY: random component made in software by sekds-admin component demo-split.",
                          "Never use demo components for real keys; real ceremonies use the HSM's generator."};
    write_private_file(paths[i], gp::format_key_component(sheets[i]));
    files.push_back(std::filesystem::absolute(paths[i]).string());
  }
  nlohmann::json kcvs = nlohmann::json::object();
  for (const auto& s : sheets.front().shares) kcvs[role_text(s.role)] = gp::to_hex(*s.combined_kcv);
  ctx.emit({{"demo_only", true}, {"files", files}, {"combined_kcv", kcvs}}, [&] {
    std::cout << "DEMO ONLY: " << sheets.size() << " component sheets written:\n";
    for (const auto& f : files) std::cout << "  " << f.get<std::string>() << "\n";
    for (const auto& [role, kcv] : kcvs.items()) std::cout << "combined " << role << " KCV " << kcv.get<std::string>() << "\n";
  });
}

}  // namespace

void add_component_commands(CLI::App& app, Runner& r) {
  CLI::App* comp = app.add_subcommand("component", "key component sheets: check, combine (lab), demo split");
  comp->require_subcommand(1);

  auto file = std::make_shared<std::string>();
  CLI::App* show = comp->add_subcommand("show", "parse a sheet and check its KCV (exit 1 if it does not match)");
  show->add_option("file", *file, "the sheet")->required();
  show->callback([&r, file] { r.set([file](Context& c) { run_show(c, *file); }); });

  auto files = std::make_shared<std::vector<std::string>>();
  auto reveal = std::make_shared<bool>(false);
  CLI::App* combine = comp->add_subcommand(
      "combine", "check 2 or 3 sheets together and print the combined KCV (--reveal: the key too, LAB/DEMO ONLY)");
  combine->add_option("files", *files, "the sheets")->required()->expected(2, 3);
  combine->add_flag("--reveal", *reveal, "also print the combined key in hex (LAB/DEMO ONLY)");
  combine->callback([&r, files, reveal] { r.set([files, reveal](Context& c) { run_combine(c, *files, *reveal); }); });

  auto so = std::make_shared<SplitOptions>();
  CLI::App* split = comp->add_subcommand(
      "demo-split", "DEMO ONLY: write random component sheets made in software (dev environment, tests)");
  split->add_option("--purpose", so->purpose, "master-key or kek")->default_str("master-key");
  split->add_option("--issuer", so->issuer, "master-key: the issuer");
  split->add_option("--kvn", so->kvn, "master-key: the key set version");
  split->add_option("--tsm", so->tsm, "kek: the TSM");
  split->add_option("--index", so->index, "kek: the KEK index");
  split->add_option("--key-type", so->key_type, "DES2, DES3, AES128, AES192 or AES256")->required();
  split->add_flag("--per-role", so->per_role, "one key per role (ENC, MAC, DEK)");
  split->add_option("--custodians", so->custodians, "2 or 3")->check(CLI::IsMember({2u, 3u}))->default_str("2");
  split->add_option("--out", so->out, "directory for the sheets (created 0700)")->required();
  split->callback([&r, so] { r.set([so](Context& c) { run_demo_split(c, *so); }); });
}

}  // namespace sekds::admin
