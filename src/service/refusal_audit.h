// Audit records for refused key requests, limited per caller so a flood of bad requests
// cannot fill the disk: each caller (certificate fingerprint, or peer address without one) has
// a token bucket; beyond it the refusal is only counted (sekds_refusal_audits_total{outcome=
// "dropped"}) and logged at most once per second per caller.
//
// A refusal record is written synchronously (group commit) before the fault is answered, but a
// store failure does not change the answer: the request was refused anyway, nothing was
// released (counted as outcome="failed" and logged).
#pragma once

#include <string>

#include "service/rate_limiter.h"
#include "service/service_metrics.h"
#include "store/store.h"

namespace sekds::service {

class RefusalAuditor {
 public:
  // `rate` records per second per caller up to `burst`; rate 0 writes every refusal.
  RefusalAuditor(store::Store& store, ServiceMetrics& metrics, double rate, double burst);

  // Appends `record` (result already set to the fault code name) unless `caller_key` is over
  // its limit. Never throws.
  void record(const std::string& caller_key, const store::AuditRecord& record) noexcept;

 private:
  store::Store& store_;
  ServiceMetrics& metrics_;
  RateLimiter limiter_;
  bool unlimited_;
  RateLimiter drop_log_;  // one "dropped" log line per second per caller
};

}  // namespace sekds::service
