#include "service/refusal_audit.h"

#include "service/logging.h"

namespace sekds::service {

RefusalAuditor::RefusalAuditor(store::Store& store, ServiceMetrics& metrics, double rate, double burst)
    : store_(store), metrics_(metrics), limiter_(rate, burst), unlimited_(rate <= 0), drop_log_(1.0, 1.0) {}

void RefusalAuditor::record(const std::string& caller_key, const store::AuditRecord& record) noexcept {
  try {
    if (!unlimited_ && !limiter_.allow(caller_key)) {
      metrics_.refusal_audits.with({"dropped"}).inc();
      if (drop_log_.allow(caller_key))
        log_json(spdlog::level::warn, {{"event", "refusal_audit_dropped"}, {"actor", record.actor},
                                       {"result", record.result}, {"why", "over the per-caller refusal audit limit"}});
      return;
    }
    store_.append(record);
    metrics_.refusal_audits.with({"written"}).inc();
  } catch (const store::StoreError& e) {
    metrics_.refusal_audits.with({"failed"}).inc();
    log_json(spdlog::level::err, {{"event", "refusal_audit_failed"}, {"actor", record.actor}, {"result", record.result},
                                  {"error", e.name()}});
  } catch (const std::exception& e) {
    metrics_.refusal_audits.with({"failed"}).inc();
    log_json(spdlog::level::err, {{"event", "refusal_audit_failed"}, {"actor", record.actor}, {"result", record.result},
                                  {"error", e.what()}});
  }
}

}  // namespace sekds::service
