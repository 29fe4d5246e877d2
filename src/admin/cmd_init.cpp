// `init`: applies the database migrations, logs in to the HSM token (USER) and reports the
// versions of what it found. Safe to run again (migrations are applied once).
#include <iostream>

#include "admin/commands.h"
#include "admin/errors.h"
#include "hsm/error.h"
#include "hsm/token_selector.h"

namespace sekds::admin {

namespace {

struct TokenReport {
  std::string label, manufacturer, model, serial, library, library_version, cryptoki_version;
  CK_SLOT_ID slot = 0;
};

std::string version_text(const CK_VERSION& v) { return std::to_string(v.major) + "." + std::to_string(v.minor); }

TokenReport token_report(hsm::Hsm& h) {
  return h.with_session("token information", [](hsm::Session& s) {
    TokenReport r;
    CK_SESSION_INFO si = s.info();
    CK_TOKEN_INFO ti{};
    hsm::check_rv(s.fn()->C_GetTokenInfo(si.slotID, &ti), "C_GetTokenInfo");
    CK_INFO info{};
    hsm::check_rv(s.fn()->C_GetInfo(&info), "C_GetInfo");
    r.slot = si.slotID;
    r.label = hsm::token_field(ti.label, sizeof ti.label);
    r.manufacturer = hsm::token_field(ti.manufacturerID, sizeof ti.manufacturerID);
    r.model = hsm::token_field(ti.model, sizeof ti.model);
    r.serial = hsm::token_field(ti.serialNumber, sizeof ti.serialNumber);
    r.library = hsm::token_field(info.libraryDescription, sizeof info.libraryDescription);
    r.library_version = version_text(info.libraryVersion);
    r.cryptoki_version = version_text(info.cryptokiVersion);
    return r;
  });
}

void run_init(Context& ctx) {
  store::SqliteStore& st = ctx.store();
  const int schema = st.schema_version();
  const AdminConfig& cfg = ctx.config();
  nlohmann::json out = {{"version", SEKDS_VERSION},
                        {"database", {{"path", cfg.store_path->string()},
                                      {"schema_version", schema},
                                      {"code_schema_version", store::SqliteStore::code_schema_version()}}}};
  if (!cfg.hsm) throw ConfigError(cfg.source.string() + ": hsm: missing ([hsm] module, token, pin)");
  TokenReport t;
  try {
    t = token_report(ctx.hsm_user());
  } catch (const hsm::HsmError& e) {
    store::AuditRecord rec;
    rec.operation = "admin.init";
    rec.detail = {{"schema_version", schema}, {"token", cfg.hsm->token}};
    rec.actor = ctx.actor();
    rec.request_id = ctx.run_id();
    rec.result = e.name();
    rec.detail["error"] = e.what();
    st.append(rec);
    throw;
  }
  out["hsm"] = {{"module", cfg.hsm->module},
                {"token", cfg.hsm->token},
                {"slot", t.slot},
                {"label", t.label},
                {"serial", t.serial},
                {"manufacturer", t.manufacturer},
                {"model", t.model},
                {"library", t.library},
                {"library_version", t.library_version},
                {"cryptoki_version", t.cryptoki_version},
                {"login", "USER"}};
  store::AuditRecord rec;
  rec.operation = "admin.init";
  rec.actor = ctx.actor();
  rec.request_id = ctx.run_id();
  rec.detail = {{"schema_version", schema}, {"token_label", t.label}, {"token_serial", t.serial}};
  out["audit_id"] = st.append(rec).seq;
  ctx.emit(out, [&] {
    std::cout << "sekds-admin " << SEKDS_VERSION << "\n"
              << "database   " << cfg.store_path->string() << " (schema version " << schema << " of "
              << store::SqliteStore::code_schema_version() << ")\n"
              << "HSM        " << cfg.hsm->module << " (" << t.library << " " << t.library_version << ", Cryptoki "
              << t.cryptoki_version << ")\n"
              << "token      '" << t.label << "' serial " << t.serial << " in slot " << t.slot << " (" << t.manufacturer
              << " " << t.model << "): USER login OK\n";
  });
}

}  // namespace

void add_init_command(CLI::App& app, Runner& r) {
  CLI::App* cmd = app.add_subcommand(
      "init", "apply the database migrations, check the HSM token (USER login, label) and report versions");
  cmd->callback([&r] { r.set(run_init); });
}

}  // namespace sekds::admin
