#include "service/key_release_service.h"

#include <fmt/format.h>

#include "gp/kcv.h"
#include "hsm/error.h"
#include "service/logging.h"

namespace sekds::service {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

bool server_side_hsm_error(const hsm::HsmError& e) {
  switch (e.code()) {
    case hsm::HsmErrc::LoginRefused:
    case hsm::HsmErrc::PinSource:
    case hsm::HsmErrc::ModuleLoad:
    case hsm::HsmErrc::TokenNotFound:
    case hsm::HsmErrc::TokenAmbiguous:
      return true;
    default:
      return e.unavailable();
  }
}

// The request digest an earlier release recorded in its detail ("" if none).
std::string recorded_digest(const store::AuditEntry& e) {
  try {
    auto j = nlohmann::json::parse(e.detail);
    if (auto it = j.find("request_sha256"); it != j.end() && it->is_string()) return it->get<std::string>();
  } catch (const std::exception&) {
  }
  return {};
}

// The audit actor of a caller refused at accreditation: the TSM's name when it is a revoked
// one, else the certificate fingerprint (all the identity there is).
std::string unaccredited_actor(const CallerIdentity& caller, const Refusal& r) {
  if (r.actor) return *r.actor;
  return caller.cert_sha256_hex.empty() ? "unaccredited (no certificate)" : "unaccredited " + caller.cert_sha256_hex;
}

WrappedKeyOut out_of(const hsm::WrappedKey& k) { return WrappedKeyOut{k.wrapped, k.kcv}; }

}  // namespace

ReleaseOptions ReleaseOptions::from(const ReleaseConfig& c) {
  ReleaseOptions o;
  o.reject_counter_anomaly = c.reject_counter_anomaly;
  o.idempotency_window = std::chrono::seconds(c.idempotency_window_s);
  o.refusal_audit_rate = c.refusal_audit_rate;
  o.refusal_audit_burst = c.refusal_audit_burst;
  return o;
}

// What is known about a request so far: the audit record of its refusal or release.
struct KeyReleaseService::Attempt {
  std::string caller_key;  // refusal audit limiter key: the certificate fingerprint (or peer)
  store::AuditRecord rec;
};

KeyReleaseService::KeyReleaseService(store::Store& store, hsm::Hsm& hsm, ServiceMetrics& metrics, ReleaseOptions options)
    : store_(store),
      hsm_(hsm),
      release_(hsm),
      metrics_(metrics),
      hsm_ok_seconds_(metrics.hsm_seconds.with({"derive_and_wrap"})),
      hsm_failed_seconds_(metrics.hsm_seconds.with({"derive_and_wrap_failed"})),
      released_(metrics.key_releases.with({"released"})),
      replayed_(metrics.key_releases.with({"replayed"})),
      options_(std::move(options)),
      authz_(store),
      refusals_(store, metrics, options_.refusal_audit_rate, options_.refusal_audit_burst) {
  if (options_.commit_stats) last_stats_ = options_.commit_stats();
}

Fault KeyReleaseService::refuse(Attempt& a, const Refusal& r) {
  a.rec.result = fault_code_name(r.fault.code);
  a.rec.idempotency_window.reset();
  a.rec.detail["reason"] = r.reason;
  refusals_.record(a.caller_key, a.rec);
  return r.fault;
}

std::variant<GetKeysResponse, Fault> KeyReleaseService::get_diversified_keys(const CallerIdentity& caller,
                                                                             const GetKeysRequest& request) {
  try {
    return release(caller, request);
  } catch (const store::StoreError& e) {
    // A read or the counter update failed: without the store nothing can be audited.
    log_json(spdlog::level::err, {{"event", "store_failure"}, {"op", "WSGetDiversifiedKeys"}, {"error", e.name()},
                                  {"detail", e.what()}});
    if (e.is_storage_failure())
      return Fault{FaultCode::AuditUnavailable, "the audit log cannot be written; nothing was released; retry later"};
    return Fault{FaultCode::Internal, "internal error"};
  }
}

std::variant<GetKeysResponse, Fault> KeyReleaseService::release(const CallerIdentity& caller,
                                                                const GetKeysRequest& request) {
  const store::Timestamp now = store::now_utc();
  Attempt a;
  a.caller_key = caller.cert_sha256_hex.empty() ? caller.peer_address : caller.cert_sha256_hex;
  a.rec.operation = std::string(store::kOpKeyRelease);
  if (request.kdd.size() == gp::kKddLength) a.rec.kdd = request.kdd;
  a.rec.kek_index = request.kek_index;
  if (request.request_id && is_valid_request_id(*request.request_id)) a.rec.request_id = request.request_id;
  a.rec.detail["peer"] = caller.peer_address;

  // 1. Who is calling.
  auto who = authz_.caller(caller);
  if (auto* r = std::get_if<Refusal>(&who)) {
    a.rec.actor = unaccredited_actor(caller, *r);
    a.rec.detail["subject"] = caller.subject.substr(0, 200);
    return refuse(a, *r);
  }
  const store::Tsm& tsm = std::get<store::Tsm>(who);
  a.rec.actor = tsm.name;

  // 2. The card data, checked before anything else is looked up.
  auto parsed = parse_card_request(request);
  if (auto* f = std::get_if<Fault>(&parsed))
    return refuse(a, {*f, f->code == FaultCode::InvalidArgument ? "invalid_request" : "key_information_mismatch"});
  const CardRequest& card = std::get<CardRequest>(parsed);
  a.rec.kvn = card.kvn;

  // 3. Issuer, entitlement, key set, and the card against the key set.
  auto issuer_d = authz_.issuer(tsm, card);
  if (auto* r = std::get_if<Refusal>(&issuer_d)) return refuse(a, *r);
  const store::Issuer& issuer = std::get<store::Issuer>(issuer_d);
  a.rec.issuer = issuer.name;
  if (auto r = authz_.entitlement(tsm, issuer)) return refuse(a, *r);
  auto key_set = authz_.key_set(issuer, card.kvn);
  if (auto* r = std::get_if<Refusal>(&key_set)) return refuse(a, *r);
  const store::KeySet& ks = std::get<store::KeySet>(key_set);
  const gp::KeyType type = card_key_type(ks);
  if (auto f = check_card_against_key_set(card, ks.spec.scp, type))
    return refuse(a, {*f, f->code == FaultCode::InvalidArgument ? "counter_width" : "key_information_mismatch"});

  // 4. The caller's KEK.
  auto kek_d = authz_.kek(tsm, request.kek_index, now);
  if (auto* r = std::get_if<Refusal>(&kek_d)) return refuse(a, *r);
  const store::Kek& kek = std::get<store::Kek>(kek_d);

  // 5. An idempotent retry?
  const std::string digest = request_digest(request);
  a.rec.detail["request_sha256"] = digest;
  auto reused = [&](const store::AuditEntry& e) {
    return refuse(a, {Fault{FaultCode::InvalidArgument,
                            fmt::format("RequestId {} was used for a different request (audit {}) within the last {} s",
                                        *request.request_id, e.seq,
                                        std::chrono::duration_cast<std::chrono::seconds>(options_.idempotency_window).count())},
                      "request_id_reused"});
  };
  std::optional<store::AuditEntry> earlier;
  const bool idempotent = a.rec.request_id && options_.idempotency_window.count() > 0;
  if (idempotent) {
    earlier = store_.find_release(tsm.name, *request.request_id, now - options_.idempotency_window);
    if (earlier && recorded_digest(*earlier) != digest) return reused(*earlier);
  }

  // 6. Derive and wrap in the HSM.
  hsm::ReleasedKeys keys;
  const auto t_hsm = Clock::now();
  try {
    keys = release_.derive_and_wrap(hsm::MasterKeyRef{ks.spec.hsm_labels.enc, ks.spec.hsm_labels.mac, ks.spec.hsm_labels.dek},
                                    ks.scheme(), type, gp::gp_kcv_alg(type), card.kdd.bytes(), kek.spec.hsm_label);
    hsm_ok_seconds_.observe(seconds_since(t_hsm));
  } catch (const hsm::HsmError& e) {
    hsm_failed_seconds_.observe(seconds_since(t_hsm));
    const bool missing_kek = e.code() == hsm::HsmErrc::ObjectNotFound &&
                             std::string_view(e.what()).find("'" + kek.spec.hsm_label + "'") != std::string_view::npos;
    log_json(server_side_hsm_error(e) ? spdlog::level::warn : spdlog::level::err,
             {{"event", "hsm_failure"}, {"tsm", tsm.name}, {"error", e.name()}, {"detail", e.what()}});
    if (server_side_hsm_error(e))
      return refuse(a, {Fault{FaultCode::HsmUnavailable, "the HSM is unavailable; retry later"}, "hsm_unavailable"});
    if (missing_kek)
      return refuse(a, {Fault{FaultCode::UnknownKek, fmt::format("KEK index {} has no key in the HSM", request.kek_index)},
                        "kek_missing_in_hsm"});
    return refuse(a, {Fault{FaultCode::Internal, "key derivation failed"}, "hsm_" + e.name()});
  } catch (const std::exception& e) {
    log_json(spdlog::level::err, {{"event", "release_failure"}, {"tsm", tsm.name}, {"error", e.what()}});
    return refuse(a, {Fault{FaultCode::Internal, "key derivation failed"}, "derivation_error"});
  }

  GetKeysResponse resp;
  resp.key_set_version = card.kvn;
  resp.key_type = type;
  resp.scp = ks.spec.scp;
  resp.wrap_algorithm = WrapAlgorithm::AesKwRfc3394;
  resp.kek_index = request.kek_index;
  resp.kek_kcv = gp::Bytes(kek.spec.kcv.begin(), kek.spec.kcv.begin() + std::min<std::size_t>(3, kek.spec.kcv.size()));
  resp.enc = out_of(keys.enc);
  resp.mac = out_of(keys.mac);
  resp.dek = out_of(keys.dek);
  auto replay = [&](store::AuditId seq) {
    replayed_.inc();
    resp.audit_id = std::to_string(seq);
    return resp;
  };
  if (earlier) return replay(earlier->seq);

  // 7-8. The card's sequence counter (this issuer's: a TSM of another issuer sending the same
  // KDD cannot move it) and the release record, in one transaction: durable before anything is
  // answered, and a release that could not be audited leaves no counter behind (the TSM's retry
  // would otherwise look like a replay). A refused anomaly writes no counter either.
  a.rec.result = std::string(store::kResultOk);
  a.rec.detail["scp"] = ks.spec.scp;
  a.rec.detail["key_type"] = gp::key_type_name(type);
  a.rec.detail["method"] = gp::method_name(ks.spec.method);
  if (request.cin) a.rec.detail["cin"] = gp::to_hex(gp::view(*request.cin));
  if (request.cplc) a.rec.detail["cplc"] = gp::to_hex(gp::view(*request.cplc));
  if (idempotent) a.rec.idempotency_window = options_.idempotency_window;
  const bool reject_anomaly = options_.reject_counter_anomaly;
  const std::uint32_t counter = card.counter.value();
  // Runs inside the store's transaction (possibly on another request's thread): no I/O here.
  auto complete = [&](const store::CounterCheck& check, store::AuditRecord& rec) {
    rec.detail["counter"] = counter;
    if (check.previous) rec.detail["previous_counter"] = *check.previous;
    if (check.anomaly != store::CounterAnomaly::None) rec.detail["counter_anomaly"] = store::counter_anomaly_name(check.anomaly);
    return check.anomaly == store::CounterAnomaly::None || !reject_anomaly;
  };
  store::Store::ReleaseOutcome outcome;
  const auto t_append = Clock::now();
  try {
    outcome = store_.record_release(issuer.name, card.kdd.bytes(), counter, a.rec, complete);
  } catch (const store::StoreError& e) {
    log_json(spdlog::level::err,
             {{"event", "audit_failure"}, {"tsm", tsm.name}, {"error", e.name()}, {"detail", e.what()}});
    if (e.is_storage_failure())
      return Fault{FaultCode::AuditUnavailable, "the release could not be audited; nothing was released; retry later"};
    return Fault{FaultCode::Internal, "internal error"};
  }
  const store::CounterCheck& check = outcome.counter;
  if (check.anomaly != store::CounterAnomaly::None) {
    metrics_.sequence_counter_anomalies.inc();
    log_json(spdlog::level::warn, {{"event", "sequence_counter_anomaly"}, {"tsm", tsm.name}, {"kdd", card.kdd.hex()},
                                   {"anomaly", store::counter_anomaly_name(check.anomaly)},
                                   {"counter", counter}, {"previous", check.previous.value_or(0)},
                                   {"refused", reject_anomaly}});
  }
  if (!outcome.appended) {  // refused: the counter repeats or went backwards
    // A concurrent twin of this very request (same RequestId) repeats the counter too.
    if (idempotent && check.anomaly == store::CounterAnomaly::Repeated) {
      earlier = store_.find_release(tsm.name, *request.request_id, now - options_.idempotency_window);
      if (earlier && recorded_digest(*earlier) == digest) return replay(earlier->seq);
    }
    a.rec.detail["counter"] = counter;
    if (check.previous) a.rec.detail["previous_counter"] = *check.previous;
    a.rec.detail["counter_anomaly"] = store::counter_anomaly_name(check.anomaly);
    return refuse(a, {Fault{FaultCode::CounterReplay,
                            fmt::format("the card's sequence counter {} {} (last seen {}): possible clone or replay",
                                        counter, check.anomaly == store::CounterAnomaly::Repeated ? "repeats" : "went backwards",
                                        check.previous.value_or(0))},
                      std::string("counter_") + store::counter_anomaly_name(check.anomaly)});
  }
  const store::AppendResult appended = *outcome.appended;
  metrics_.audit_append_seconds.observe(seconds_since(t_append));
  sample_commit_stats();
  if (appended.duplicate) {  // a concurrent request with the same RequestId was recorded first
    std::optional<store::AuditEntry> first = store_.find_audit(appended.seq);
    if (!first || recorded_digest(*first) != digest) return reused(first ? *first : store::AuditEntry{});
    return replay(appended.seq);
  }
  released_.inc();
  resp.audit_id = std::to_string(appended.seq);
  return resp;
}

std::variant<std::vector<KekInfo>, Fault> KeyReleaseService::get_kek_info(const CallerIdentity& caller) {
  try {
    Attempt a;
    a.caller_key = caller.cert_sha256_hex.empty() ? caller.peer_address : caller.cert_sha256_hex;
    a.rec.operation = "WSGetKekInfo";
    a.rec.detail["peer"] = caller.peer_address;
    auto who = authz_.caller(caller);
    if (auto* r = std::get_if<Refusal>(&who)) {
      a.rec.actor = unaccredited_actor(caller, *r);
      a.rec.detail["subject"] = caller.subject.substr(0, 200);
      return refuse(a, *r);
    }
    std::vector<KekInfo> out;
    for (const store::Kek& k : store_.list_keks(std::string_view(std::get<store::Tsm>(who).name))) {
      KekInfo i;
      i.index = k.spec.index;
      i.algorithm = gp::key_type_name(k.spec.algorithm);
      i.kcv = gp::Bytes(k.spec.kcv.begin(), k.spec.kcv.begin() + std::min<std::size_t>(3, k.spec.kcv.size()));
      i.state = store::kek_state_name(k.state);
      if (k.spec.valid_from) i.valid_from = store::format_timestamp(*k.spec.valid_from);
      if (k.spec.valid_until) i.valid_until = store::format_timestamp(*k.spec.valid_until);
      out.push_back(std::move(i));
    }
    return out;
  } catch (const store::StoreError& e) {
    log_json(spdlog::level::err, {{"event", "store_failure"}, {"op", "WSGetKekInfo"}, {"error", e.name()}});
    if (e.is_storage_failure()) return Fault{FaultCode::AuditUnavailable, "the key store is unavailable; retry later"};
    return Fault{FaultCode::Internal, "internal error"};
  }
}

void KeyReleaseService::sample_commit_stats() {
  if (!options_.commit_stats) return;
  const store::GroupCommitStats s = options_.commit_stats();
  std::lock_guard lock(stats_mu_);
  if (s.batches <= last_stats_.batches) return;
  // Batches committed since the last sample, each counted with the mean size of them all.
  const std::uint64_t batches = s.batches - last_stats_.batches;
  const double mean = static_cast<double>(s.jobs - last_stats_.jobs) / static_cast<double>(batches);
  for (std::uint64_t i = 0; i < batches; ++i) metrics_.audit_batch_size.observe(mean);
  last_stats_ = s;
}

Health KeyReleaseService::health() {
  std::string hsm_state = "ok", store_state = "ok";
  bool ok = true;
  try {
    hsm_.with_session("health check", [](hsm::Session& s) {
      CK_SESSION_INFO info = s.info();
      CK_TOKEN_INFO token{};
      hsm::check_rv(s.fn()->C_GetTokenInfo(info.slotID, &token), "C_GetTokenInfo");
    });
  } catch (const hsm::HsmError& e) {
    ok = false;
    hsm_state = "unavailable (" + e.name() + ")";
  }
  try {
    (void)store_.audit_head();
  } catch (const store::StoreError& e) {
    ok = false;
    store_state = std::string("unavailable (") + e.name() + ")";
  }
  return Health{ok, "hsm " + hsm_state + ", store " + store_state};
}

void KeyReleaseService::flush() { store_.flush(); }

}  // namespace sekds::service
