#include "service/key_service.h"

namespace sekds::service {

const char* fault_code_name(FaultCode c) noexcept {
  switch (c) {
    case FaultCode::InvalidArgument: return "InvalidArgument";
    case FaultCode::UnknownKeySet: return "UnknownKeySet";
    case FaultCode::KeyInformationMismatch: return "KeyInformationMismatch";
    case FaultCode::NotEntitled: return "NotEntitled";
    case FaultCode::UnknownKek: return "UnknownKek";
    case FaultCode::KekNotActive: return "KekNotActive";
    case FaultCode::NotAccredited: return "NotAccredited";
    case FaultCode::RateLimited: return "RateLimited";
    case FaultCode::HsmUnavailable: return "HsmUnavailable";
    case FaultCode::AuditUnavailable: return "AuditUnavailable";
    case FaultCode::Internal: return "Internal";
    case FaultCode::CounterReplay: return "CounterReplay";
  }
  return "Internal";
}

std::optional<FaultCode> parse_fault_code(std::string_view name) noexcept {
  for (FaultCode c : kAllFaultCodes)
    if (name == fault_code_name(c)) return c;
  return std::nullopt;
}

bool is_sender_fault(FaultCode c) noexcept {
  switch (c) {
    case FaultCode::RateLimited:
    case FaultCode::HsmUnavailable:
    case FaultCode::AuditUnavailable:
    case FaultCode::Internal:
      return false;
    default:
      return true;
  }
}

namespace {

std::optional<Fault> bad(std::string what) { return Fault{FaultCode::InvalidArgument, std::move(what)}; }

bool length_in(const gp::Bytes& b, std::size_t lo, std::size_t hi) { return b.size() >= lo && b.size() <= hi; }

bool is_rfc3339_utc(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  if (s.size() < 20 || s.back() != 'Z') return false;
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i]) return false;
  }
  std::string_view frac = s.substr(19, s.size() - 20);
  if (frac.empty()) return true;
  if (frac[0] != '.' || frac.size() < 2) return false;
  for (char c : frac.substr(1))
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace

bool is_valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (c < '!' || c > '~') return false;
  return true;
}

std::optional<Fault> validate(const GetKeysRequest& r) {
  if (r.kdd.size() != 10) return bad("KeyDiversificationData must be 10 bytes");
  if (!length_in(r.key_information, 2, 1024)) return bad("KeyInformation must be 2 to 1024 bytes");
  if (!length_in(r.sequence_counter, 2, 3)) return bad("SequenceCounter must be 2 or 3 bytes");
  if (r.iin && !length_in(*r.iin, 1, 16)) return bad("IssuerIdentificationNumber must be 1 to 16 bytes");
  if (r.cin && !length_in(*r.cin, 1, 16)) return bad("CardImageNumber must be 1 to 16 bytes");
  if (r.cplc && r.cplc->size() != 42) return bad("Cplc must be 42 bytes");
  if (r.request_id && !is_valid_request_id(*r.request_id))
    return bad("RequestId must be 1 to 64 printable ASCII characters without spaces");
  return std::nullopt;
}

std::optional<std::string> validate(const GetKeysResponse& r) {
  if (r.scp != 2 && r.scp != 3) return "Scp must be 2 or 3";
  if (r.kek_kcv.size() != 3) return "KekKcv must be 3 bytes";
  for (const WrappedKeyOut* k : {&r.enc, &r.mac, &r.dek}) {
    if (!length_in(k->wrapped_key, 24, 40)) return "WrappedKey must be 24 to 40 bytes";
    if (k->kcv.size() != 3) return "Kcv must be 3 bytes";
  }
  if (r.audit_id.empty() || r.audit_id.size() > 64) return "AuditId must be 1 to 64 characters";
  return std::nullopt;
}

std::optional<std::string> validate(const KekInfo& k) {
  if (k.algorithm != "AES128" && k.algorithm != "AES192" && k.algorithm != "AES256")
    return "KEK algorithm must be AES128, AES192 or AES256";
  if (k.kcv.size() != 3) return "KEK Kcv must be 3 bytes";
  if (k.state != "pending" && k.state != "active" && k.state != "retired")
    return "KEK state must be pending, active or retired";
  if (k.valid_from && !is_rfc3339_utc(*k.valid_from)) return "KEK ValidFrom must be RFC 3339 UTC";
  if (k.valid_until && !is_rfc3339_utc(*k.valid_until)) return "KEK ValidUntil must be RFC 3339 UTC";
  return std::nullopt;
}

const char* wrap_algorithm_name(WrapAlgorithm a) noexcept {
  switch (a) {
    case WrapAlgorithm::AesKwRfc3394: return "AES-KW-RFC3394";
  }
  return "?";
}

}  // namespace sekds::service
