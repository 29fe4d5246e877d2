// `tsm accredit|revoke|list|grant|ungrant`: which TSM certificates the service accepts and
// which issuers' keys each TSM may receive.
#include <iostream>

#include "admin/certificate.h"
#include "admin/commands.h"
#include "admin/errors.h"
#include "admin/json_out.h"
#include "hsm/error.h"
#include "hsm/labels.h"

namespace sekds::admin {

namespace {

struct Options {
  std::string name, cert, issuer;
};

void run_accredit(Context& ctx, const Options& o) {
  store::AuditRecord rec;
  rec.operation = "tsm.accredit";
  rec.detail = {{"tsm", o.name}, {"cert_file", o.cert}};
  try {
    hsm::check_name("TSM", o.name);  // it becomes part of KEK labels
  } catch (const hsm::HsmError& e) {
    ctx.refuse(rec, "InvalidArgument", e.what());
  }
  const AdminConfig& cfg = ctx.config();
  if (!cfg.client_ca)
    throw ConfigError(cfg.source.string() + ": tls.client_ca: missing (the TSM CA that client certificates chain to)");
  const ClientCertificate cert = read_client_certificate(o.cert);
  rec.detail["cert_sha256"] = cert.sha256;
  rec.detail["subject"] = cert.subject;
  rec.detail["cert_issuer"] = cert.issuer;
  if (auto why = check_client_certificate(o.cert, *cfg.client_ca, cfg.crl))
    ctx.refuse(rec, "CertificateRejected", "certificate " + o.cert + " (" + cert.subject + ") " + *why);
  const store::AuditId id = ctx.store().accredit_tsm(ctx.who(), {o.name, cert.sha256, cert.subject});
  auto tsm = ctx.store().find_tsm(o.name);
  nlohmann::json out = to_json(*tsm);
  out["not_after"] = cert.not_after;
  out["audit_id"] = id;
  ctx.emit(out, [&] {
    std::cout << "TSM '" << o.name << "' accredited (audit " << id << ")\n"
              << "  subject      " << cert.subject << "\n"
              << "  issuer       " << cert.issuer << "\n"
              << "  SHA-256      " << cert.sha256 << "\n"
              << "  valid until  " << cert.not_after << "\n";
  });
}

void run_revoke(Context& ctx, const Options& o) {
  const store::AuditId id = ctx.store().revoke_tsm(ctx.who(), o.name);
  auto tsm = ctx.store().find_tsm(o.name);
  nlohmann::json out = to_json(*tsm);
  out["audit_id"] = id;
  ctx.emit(out, [&] {
    std::cout << "TSM '" << o.name << "' revoked (audit " << id << "); the service refuses it from its next request\n";
  });
}

void run_list(Context& ctx) {
  auto tsms = ctx.store().list_tsms();
  auto grants = ctx.store().list_entitlements(std::nullopt);
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : tsms) {
    nlohmann::json j = to_json(t);
    std::vector<std::string> issuers;
    for (const auto& g : grants)
      if (g.tsm == t.name) issuers.push_back(g.issuer);
    j["issuers"] = issuers;
    out.push_back(j);
    std::string joined;
    for (const auto& i : issuers) joined += (joined.empty() ? "" : ",") + i;
    rows.push_back({t.name, store::tsm_state_name(t.state), t.cert_sha256.substr(0, 16) + "...", t.subject,
                    joined.empty() ? "-" : joined});
  }
  ctx.emit({{"tsms", out}}, [&] { print_table({"NAME", "STATE", "CERT SHA-256", "SUBJECT", "ISSUERS"}, rows); });
}

void run_grant(Context& ctx, const Options& o, bool grant) {
  const store::AuditId id =
      grant ? ctx.store().grant(ctx.who(), o.name, o.issuer) : ctx.store().ungrant(ctx.who(), o.name, o.issuer);
  nlohmann::json out = {{"tsm", o.name}, {"issuer", o.issuer}, {"entitled", grant}, {"audit_id", id}};
  ctx.emit(out, [&] {
    std::cout << "TSM '" << o.name << "' " << (grant ? "may now receive" : "may no longer receive") << " keys of issuer '"
              << o.issuer << "' (audit " << id << ")\n";
  });
}

}  // namespace

void add_tsm_commands(CLI::App& app, Runner& r) {
  CLI::App* tsm = app.add_subcommand("tsm", "Trusted Service Managers: accreditation and entitlements");
  tsm->require_subcommand(1);

  auto acc = std::make_shared<Options>();
  CLI::App* accredit = tsm->add_subcommand(
      "accredit", "pin a TSM's client certificate (SHA-256 and subject); refused unless it chains to the configured "
                  "TSM CA, is valid now and has the clientAuth EKU");
  accredit->add_option("--name", acc->name, "unique TSM name (1..64 of A-Z a-z 0-9 . _ -)")->required();
  accredit->add_option("--cert", acc->cert, "the TSM's client certificate (PEM)")->required();
  accredit->callback([&r, acc] { r.set([acc](Context& c) { run_accredit(c, *acc); }); });

  auto rev = std::make_shared<Options>();
  CLI::App* revoke = tsm->add_subcommand("revoke", "revoke a TSM (effective on its next request)");
  revoke->add_option("--name", rev->name, "the TSM")->required();
  revoke->callback([&r, rev] { r.set([rev](Context& c) { run_revoke(c, *rev); }); });

  CLI::App* list = tsm->add_subcommand("list", "list TSMs and the issuers each is entitled to");
  list->callback([&r] { r.set(run_list); });

  auto gr = std::make_shared<Options>();
  CLI::App* grant = tsm->add_subcommand("grant", "entitle a TSM to an issuer's keys");
  grant->add_option("--name", gr->name, "the TSM")->required();
  grant->add_option("--issuer", gr->issuer, "the issuer")->required();
  grant->callback([&r, gr] { r.set([gr](Context& c) { run_grant(c, *gr, true); }); });

  auto ug = std::make_shared<Options>();
  CLI::App* ungrant = tsm->add_subcommand("ungrant", "withdraw a TSM's entitlement to an issuer's keys");
  ungrant->add_option("--name", ug->name, "the TSM")->required();
  ungrant->add_option("--issuer", ug->issuer, "the issuer")->required();
  ungrant->callback([&r, ug] { r.set([ug](Context& c) { run_grant(c, *ug, false); }); });
}

}  // namespace sekds::admin
