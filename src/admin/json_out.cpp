#include "admin/json_out.h"

#include "store/time.h"

namespace sekds::admin {

namespace {

nlohmann::json opt_time(const std::optional<store::Timestamp>& t) {
  if (!t) return nullptr;
  return store::format_timestamp(*t);
}

}  // namespace

std::string hex_byte(std::uint8_t v) { return gp::to_hex(gp::ByteView(&v, 1)); }

nlohmann::json to_json(const store::Issuer& i) {
  return {{"name", i.name}, {"iin", i.iin}, {"created", store::format_timestamp(i.created)}};
}

nlohmann::json to_json(const store::KeySet& k) {
  const store::KeySetSpec& s = k.spec;
  return {{"issuer", s.issuer},
          {"kvn", s.kvn},
          {"scp", s.scp == 2 ? "02" : "03"},
          {"i", hex_byte(s.scp_i)},
          {"key_type", gp::key_type_name(s.key_type)},
          {"method", gp::method_name(s.method)},
          {"kdf_layout", s.kdf_layout},
          {"kdf_constants", s.kdf_constants},
          {"per_role", !s.hsm_labels.shared()},
          {"hsm_labels", {{"enc", s.hsm_labels.enc}, {"mac", s.hsm_labels.mac}, {"dek", s.hsm_labels.dek}}},
          {"kcv", {{"enc", gp::to_hex(s.kcvs.enc)}, {"mac", gp::to_hex(s.kcvs.mac)}, {"dek", gp::to_hex(s.kcvs.dek)}}},
          {"kcv_alg", gp::kcv_alg_name(s.kcv_alg)},
          {"state", store::key_set_state_name(k.state)},
          {"created", store::format_timestamp(k.created)}};
}

nlohmann::json to_json(const store::Tsm& t) {
  return {{"name", t.name},
          {"cert_sha256", t.cert_sha256},
          {"subject", t.subject},
          {"state", store::tsm_state_name(t.state)},
          {"created", store::format_timestamp(t.created)},
          {"revoked", opt_time(t.revoked)}};
}

nlohmann::json to_json(const store::Entitlement& e) {
  return {{"tsm", e.tsm}, {"issuer", e.issuer}, {"created", store::format_timestamp(e.created)}};
}

nlohmann::json to_json(const store::Kek& k) {
  return {{"tsm", k.spec.tsm},
          {"index", k.spec.index},
          {"algorithm", gp::key_type_name(k.spec.algorithm)},
          {"kcv", gp::to_hex(k.spec.kcv)},
          {"kcv_alg", gp::kcv_alg_name(gp::KcvAlg::AesGp)},
          {"state", store::kek_state_name(k.state)},
          {"hsm_label", k.spec.hsm_label},
          {"valid_from", opt_time(k.spec.valid_from)},
          {"valid_until", opt_time(k.spec.valid_until)},
          {"created", store::format_timestamp(k.created)},
          {"activated", opt_time(k.activated)},
          {"retired", opt_time(k.retired)}};
}

nlohmann::json to_json(const store::AuditEntry& a) {
  nlohmann::json detail = nlohmann::json::parse(a.detail, nullptr, false);
  if (detail.is_discarded()) detail = a.detail;
  return {{"seq", a.seq},
          {"time", store::format_timestamp(a.time)},
          {"actor", a.actor},
          {"operation", a.operation},
          {"kdd", a.kdd ? nlohmann::json(gp::to_hex(*a.kdd)) : nlohmann::json(nullptr)},
          {"issuer", a.issuer ? nlohmann::json(*a.issuer) : nlohmann::json(nullptr)},
          {"kvn", a.kvn ? nlohmann::json(*a.kvn) : nlohmann::json(nullptr)},
          {"kek_index", a.kek_index ? nlohmann::json(*a.kek_index) : nlohmann::json(nullptr)},
          {"result", a.result},
          {"request_id", a.request_id ? nlohmann::json(*a.request_id) : nlohmann::json(nullptr)},
          {"detail", detail},
          {"prev_hash", a.prev_hash},
          {"hash", a.hash}};
}

nlohmann::json to_json(const store::ChainHead& h) { return {{"seq", h.seq}, {"hash", h.hash}}; }

}  // namespace sekds::admin
