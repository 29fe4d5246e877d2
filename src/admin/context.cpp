#include "admin/context.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "admin/errors.h"
#include "store/time.h"

namespace sekds::admin {

namespace {

std::string os_user() {
  const uid_t uid = ::geteuid();
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr && *pw->pw_name != '\0')
    return pw->pw_name;
  return "uid:" + std::to_string(uid);
}

void check_operator_name(const std::string& name) {
  if (name.empty() || name.size() > 64) usage_error("--operator: 1..64 characters");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) usage_error("--operator: control characters are not allowed");
  }
}

}  // namespace

Context::Context(GlobalOptions options) : options_(std::move(options)) {
  const std::string user = os_user();
  if (options_.operator_name.empty() || options_.operator_name == user) {
    actor_ = user;
  } else {
    check_operator_name(options_.operator_name);
    actor_ = options_.operator_name + " (os user " + user + ")";
  }
  run_id_ = "sekds-admin/" + std::to_string(::getpid()) + "/" + store::format_timestamp(store::now_utc());
}

Context::~Context() {
  // The HSM first: nothing else depends on it, and its module outlives nothing of ours.
  hsm_.reset();
  if (store_) {
    try {
      store_->flush();
    } catch (const std::exception&) {
    }
  }
}

const AdminConfig& Context::config() {
  if (!config_) {
    std::string path = options_.config_path;
    if (path.empty()) {
      if (const char* env = std::getenv("SEKDS_CONFIG"); env != nullptr && *env != '\0') path = env;
    }
    if (path.empty()) usage_error("no configuration: give --config FILE or set SEKDS_CONFIG");
    config_ = load_admin_config(path);
  }
  return *config_;
}

store::SqliteStore& Context::store() {
  if (!store_) {
    const AdminConfig& c = config();
    if (!c.store_path) throw ConfigError(c.source.string() + ": store.path: missing ([store] path = \"...\")");
    store_ = store::SqliteStore::open(*c.store_path);
  }
  return *store_;
}

hsm::HsmConfig Context::hsm_config(hsm::LoginRole role, const std::string& pin_source) {
  const AdminConfig& c = config();
  hsm::HsmConfig h;
  h.module_path = c.hsm->module;
  h.token = c.hsm->token;
  h.pin = hsm::PinSource::parse(pin_source);
  h.role = role;
  h.max_sessions = 4;
  return h;
}

hsm::Hsm& Context::hsm_user() {
  if (hsm_) {
    if (hsm_->role() != hsm::LoginRole::User)
      throw AdminError(ExitCode::Usage, "Usage", "this command needs a USER login but the SO is logged in");
    return *hsm_;
  }
  const AdminConfig& c = config();
  if (!c.hsm) throw ConfigError(c.source.string() + ": hsm: missing ([hsm] module, token, pin)");
  hsm_ = std::make_unique<hsm::Hsm>(hsm_config(hsm::LoginRole::User, c.hsm->pin));
  return *hsm_;
}

hsm::Hsm& Context::hsm_so(const std::optional<std::string>& so_pin_source) {
  if (hsm_) {
    if (hsm_->role() != hsm::LoginRole::SecurityOfficer)
      throw AdminError(ExitCode::Usage, "Usage", "this command needs an SO login but a USER is logged in");
    return *hsm_;
  }
  const AdminConfig& c = config();
  if (!c.hsm) throw ConfigError(c.source.string() + ": hsm: missing ([hsm] module, token, pin)");
  std::string source;
  if (so_pin_source) {
    source = normalise_pin_source("--so-pin-source", *so_pin_source, std::filesystem::current_path());
  } else if (c.hsm->so_pin) {
    source = *c.hsm->so_pin;
  } else {
    usage_error("this ceremony needs the SO PIN: give --so-pin-source file:PATH|env:NAME or set [hsm] so_pin");
  }
  hsm_ = std::make_unique<hsm::Hsm>(hsm_config(hsm::LoginRole::SecurityOfficer, source));
  return *hsm_;
}

void Context::refuse(store::AuditRecord record, const std::string& name, const std::string& message) {
  record.actor = actor_;
  record.request_id = run_id_;
  record.result = name;
  if (!record.detail.is_object()) record.detail = nlohmann::json::object();
  record.detail["error"] = message.size() > 1000 ? message.substr(0, 1000) : message;
  audited_ = true;
  try {
    store().append(record);
  } catch (const std::exception& e) {
    std::cerr << "sekds-admin: warning: the refusal could not be audited: " << e.what() << "\n";
  }
  throw AdminError(ExitCode::Refused, name, message);
}

void Context::track(store::AuditRecord record) { tracked_ = std::move(record); }

void Context::audit_failure(const std::exception_ptr& error, const Failure& failure) {
  if (!tracked_ || audited_ || !store_) return;
  try {
    std::rethrow_exception(error);
  } catch (const store::StoreError&) {
    return;  // a refusal the store audited itself, or a store that cannot write
  } catch (...) {
  }
  audited_ = true;
  store::AuditRecord rec = *tracked_;
  rec.actor = actor_;
  rec.request_id = run_id_;
  rec.result = failure.name.empty() ? "Failed" : failure.name;
  if (!rec.detail.is_object()) rec.detail = nlohmann::json::object();
  rec.detail["error"] = failure.message.size() > 1000 ? failure.message.substr(0, 1000) : failure.message;
  try {
    store_->append(rec);
  } catch (const std::exception& e) {
    std::cerr << "sekds-admin: warning: the failure could not be audited: " << e.what() << "\n";
  }
}

void Context::emit(const nlohmann::json& data, const std::function<void()>& human) {
  if (options_.json) {
    std::cout << data.dump(2) << "\n";
  } else {
    human();
  }
  std::cout.flush();
}

}  // namespace sekds::admin
