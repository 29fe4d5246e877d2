// The key release (DESIGN §1 step 5, §3-§5, §8): the KeyService sekds-server runs, over the
// store (who may have what, the audit log) and the HSM (derive + wrap). gSOAP-free.
//
// WSGetDiversifiedKeys, in this order (each refusal is a named fault, audited within the
// per-caller refusal audit limit, see refusal_audit.h):
//   1. caller: the certificate fingerprint names an accredited, non-revoked TSM  (NotAccredited)
//   2. the card data, before anything else is looked up: lengths, 'E0' template, KVN
//      (InvalidArgument, KeyInformationMismatch)
//   3. issuer by IIN, or the TSM's only issuer; entitlement  (UnknownKeySet, InvalidArgument,
//      NotEntitled); the active key set (UnknownKeySet); card vs key set: counter width = SCP,
//      template key type = card key type  (InvalidArgument, KeyInformationMismatch)
//   4. the caller's KEK: exists (UnknownKek), active and within validity (KekNotActive)
//   5. RequestId seen within the idempotency window: same inputs -> the same keys (recomputed:
//      derivation and RFC 3394 wrapping are deterministic) and the same AuditId, nothing new
//      recorded; other inputs -> InvalidArgument
//   6. the HSM derives and wraps the three keys  (HsmUnavailable, UnknownKek if the KEK object
//      is missing, Internal otherwise)
//   7. the card's sequence counter is compared with the last one seen (store): a counter that
//      repeats or goes backwards is flagged in the audit detail and the metrics, and refused
//      with CounterReplay when reject_counter_anomaly is set
//   8. the release record is appended and durable (group commit) BEFORE the answer is built;
//      if it cannot be written: AuditUnavailable and nothing is returned. AuditId = its seq.
// The rate limit per TSM (RateLimited) is the transport's (soap_endpoint.cpp, limits.rate_per_tsm),
// applied before this service is called.
//
// Nothing is cached between requests (the store is read each time), so revocation, ungrant and
// KEK state changes by sekds-admin take effect on the next request. Faults never carry key
// material, HSM labels, paths or exception texts; those go to the log.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "hsm/hsm.h"
#include "hsm/key_release.h"
#include "service/authorizer.h"
#include "service/config.h"
#include "service/key_service.h"
#include "service/refusal_audit.h"
#include "service/server.h"
#include "service/service_metrics.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace sekds::service {

struct ReleaseOptions {
  bool reject_counter_anomaly = false;
  std::chrono::milliseconds idempotency_window{std::chrono::minutes(10)};  // 0 = no idempotent retries
  double refusal_audit_rate = 1.0;  // per caller and second; 0 = audit every refusal
  double refusal_audit_burst = 20;
  // Optional: the store's group-commit counters (SqliteStore::group_commit_stats), sampled after
  // each append to fill sekds_audit_batch_size.
  std::function<store::GroupCommitStats()> commit_stats;

  static ReleaseOptions from(const ReleaseConfig& c);
};

class KeyReleaseService final : public KeyService {
 public:
  // `store` and `hsm` (logged in as USER) outlive the service. One KeyReleaseService (and so one
  // hsm::KeyRelease, which caches per master) per process.
  KeyReleaseService(store::Store& store, hsm::Hsm& hsm, ServiceMetrics& metrics, ReleaseOptions options = {});

  std::variant<GetKeysResponse, Fault> get_diversified_keys(const CallerIdentity& caller,
                                                            const GetKeysRequest& request) override;
  std::variant<std::vector<KekInfo>, Fault> get_kek_info(const CallerIdentity& caller) override;

  // For /healthz: the HSM is probed (C_GetTokenInfo on a leased session, so a token that
  // vanished is noticed, and a reconnect is tried when the back-off allows) and the store read
  // once. The detail names states and CKR_/StoreErrc names only.
  Health health();
  // Waits until every audit record handed to the store is durable (the on_shutdown hook).
  void flush();

 private:
  struct Attempt;
  std::variant<GetKeysResponse, Fault> release(const CallerIdentity& caller, const GetKeysRequest& request);
  Fault refuse(Attempt& a, const Refusal& r);
  void sample_commit_stats();

  store::Store& store_;
  hsm::Hsm& hsm_;
  hsm::KeyRelease release_;
  ServiceMetrics& metrics_;
  // The labelled children of the hot path, looked up once.
  Histogram& hsm_ok_seconds_;
  Histogram& hsm_failed_seconds_;
  Counter& released_;
  Counter& replayed_;
  ReleaseOptions options_;
  Authorizer authz_;
  RefusalAuditor refusals_;
  std::mutex stats_mu_;
  store::GroupCommitStats last_stats_;
};

}  // namespace sekds::service
