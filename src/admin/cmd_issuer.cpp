// `issuer add --name N --iin HEX`, `issuer list`.
#include <iostream>

#include "admin/commands.h"
#include "admin/errors.h"
#include "admin/json_out.h"
#include "hsm/error.h"
#include "hsm/labels.h"

namespace sekds::admin {

namespace {

struct AddOptions {
  std::string name, iin;
};

void run_add(Context& ctx, const AddOptions& o) {
  // The name becomes part of HSM labels (hsm/labels.h), so it must fit them before anything is stored.
  try {
    hsm::check_name("issuer", o.name);
  } catch (const hsm::HsmError& e) {
    store::AuditRecord rec;
    rec.operation = "issuer.add";
    rec.issuer = o.name;
    ctx.refuse(rec, "InvalidArgument", e.what());
  }
  const store::AuditId id = ctx.store().add_issuer(ctx.who(), {o.name, o.iin});
  auto issuer = ctx.store().find_issuer(o.name);
  nlohmann::json out = to_json(*issuer);
  out["audit_id"] = id;
  ctx.emit(out, [&] { std::cout << "issuer '" << issuer->name << "' added, IIN " << issuer->iin << " (audit " << id << ")\n"; });
}

void run_list(Context& ctx) {
  auto issuers = ctx.store().list_issuers();
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : issuers) {
    out.push_back(to_json(i));
    rows.push_back({i.name, i.iin, store::format_timestamp(i.created)});
  }
  ctx.emit({{"issuers", out}}, [&] { print_table({"NAME", "IIN", "CREATED"}, rows); });
}

}  // namespace

void add_issuer_commands(CLI::App& app, Runner& r) {
  CLI::App* issuer = app.add_subcommand("issuer", "card issuers (the owners of master key sets)");
  issuer->require_subcommand(1);

  auto add_opts = std::make_shared<AddOptions>();
  CLI::App* add = issuer->add_subcommand("add", "add an issuer");
  add->add_option("--name", add_opts->name, "unique issuer name (1..64 of A-Z a-z 0-9 . _ -)")->required();
  add->add_option("--iin", add_opts->iin, "the issuer identification number (GET DATA '42') in hex")->required();
  add->callback([&r, add_opts] { r.set([add_opts](Context& c) { run_add(c, *add_opts); }); });

  CLI::App* list = issuer->add_subcommand("list", "list the issuers");
  list->callback([&r] { r.set(run_list); });
}

}  // namespace sekds::admin
