#include "store/validate.h"

#include "gp/error.h"
#include "store/store_error.h"

namespace sekds::store::validate {

namespace {

[[noreturn]] void invalid(const std::string& msg) { throw StoreError(StoreErrc::InvalidArgument, msg); }

gp::Bytes hex(std::string_view what, std::string_view text) {
  try {
    return gp::from_hex(text, what);
  } catch (const gp::GpError& e) {
    invalid(e.what());
  }
}

void kcv(std::string_view what, const gp::Bytes& v) {
  if (v.size() < 3 || v.size() > 16) {
    invalid(std::string(what) + ": a KCV is 3..16 bytes, got " + std::to_string(v.size()));
  }
}

void text(std::string_view what, const std::optional<std::string>& v, std::size_t max) {
  if (!v) return;
  if (v->size() > max) invalid(std::string(what) + " longer than " + std::to_string(max) + " bytes");
  if (v->find('\0') != std::string::npos) invalid(std::string(what) + " contains a NUL character");
}

}  // namespace

void name(std::string_view what, std::string_view value, std::size_t max) {
  if (value.empty()) invalid(std::string(what) + " is empty");
  if (value.size() > max) invalid(std::string(what) + " longer than " + std::to_string(max) + " bytes");
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) invalid(std::string(what) + " contains a control character");
  }
}

std::string iin(std::string_view text) {
  const gp::Bytes b = hex("IIN", text);
  if (b.empty() || b.size() > 16) invalid("IIN must be 1..16 bytes, got " + std::to_string(b.size()));
  return gp::to_hex(gp::view(b));
}

std::string fingerprint(std::string_view text) {
  const gp::Bytes b = hex("certificate SHA-256 fingerprint", text);
  if (b.size() != 32) invalid("certificate SHA-256 fingerprint must be 32 bytes, got " + std::to_string(b.size()));
  return gp::to_hex(gp::view(b));
}

void kdd(gp::ByteView v) {
  if (v.size() != gp::kKddLength) invalid("KDD must be 10 bytes, got " + std::to_string(v.size()));
}

const char* kcv_alg_text(gp::KcvAlg a) noexcept { return gp::kcv_alg_name(a); }

std::optional<gp::KcvAlg> parse_kcv_alg(std::string_view s) noexcept {
  for (gp::KcvAlg a : {gp::KcvAlg::Des3Zero, gp::KcvAlg::AesGp, gp::KcvAlg::AesCmac}) {
    if (s == gp::kcv_alg_name(a)) return a;
  }
  return std::nullopt;
}

KeySetSpec key_set(const KeySetSpec& in) {
  KeySetSpec s = in;
  name("issuer name", s.issuer);
  if (s.kvn < 1 || s.kvn > 127) invalid("key set version must be 1..127, got " + std::to_string(s.kvn));
  const bool des = !gp::is_aes(s.key_type);
  if (s.scp == 2) {
    if (!des) invalid(std::string("SCP02 needs DES2 or DES3 keys, got ") + gp::key_type_name(s.key_type));
  } else if (s.scp == 3) {
    if (des) invalid(std::string("SCP03 needs AES keys, got ") + gp::key_type_name(s.key_type));
  } else {
    invalid("SCP must be 2 or 3, got " + std::to_string(s.scp));
  }
  if (s.method != gp::DiversificationMethod::None && gp::method_is_des(s.method) != des) {
    invalid(std::string("diversification ") + gp::method_name(s.method) + " does not fit " +
            gp::key_type_name(s.key_type) + " keys");
  }
  const bool kdf = s.method == gp::DiversificationMethod::Kdf3 || s.method == gp::DiversificationMethod::Scp03Kdf;
  if (kdf) {
    try {
      const std::string spec =
          s.kdf_layout.empty() ? gp::DiversificationScheme::of(s.method).layout.spec() : s.kdf_layout;
      const gp::KdfLayout layout = gp::KdfLayout::parse(spec, s.kdf_constants.empty() ? "01,02,03" : s.kdf_constants);
      s.kdf_layout = layout.spec();
      s.kdf_constants = layout.constants_spec();
    } catch (const gp::GpError& e) {
      invalid(e.what());
    }
  } else if (!s.kdf_layout.empty() || !s.kdf_constants.empty()) {
    invalid(std::string("diversification ") + gp::method_name(s.method) + " takes no KDF layout or constants");
  }
  name("HSM label (ENC)", s.hsm_labels.enc, kMaxLabel);
  name("HSM label (MAC)", s.hsm_labels.mac, kMaxLabel);
  name("HSM label (DEK)", s.hsm_labels.dek, kMaxLabel);
  kcv("KCV (ENC)", s.kcvs.enc);
  kcv("KCV (MAC)", s.kcvs.mac);
  kcv("KCV (DEK)", s.kcvs.dek);
  if (des ? s.kcv_alg != gp::KcvAlg::Des3Zero : s.kcv_alg == gp::KcvAlg::Des3Zero) {
    invalid(std::string("KCV convention ") + gp::kcv_alg_name(s.kcv_alg) + " does not fit " +
            gp::key_type_name(s.key_type) + " keys");
  }
  return s;
}

void kek(const KekSpec& s) {
  name("TSM name", s.tsm);
  if (!gp::is_aes(s.algorithm)) {
    invalid(std::string("KEK algorithm must be AES128, AES192 or AES256, got ") + gp::key_type_name(s.algorithm));
  }
  kcv("KEK KCV", s.kcv);
  name("KEK HSM label", s.hsm_label, kMaxLabel);
  if (s.valid_from && s.valid_until && !(*s.valid_from < *s.valid_until)) {
    invalid("KEK validity: valid_from must be before valid_until");
  }
}

void audit_context(const AuditContext& who) {
  name("actor", who.actor, kMaxAuditText);
  text("request id", who.request_id, kMaxAuditText);
}

std::string audit_record(const AuditRecord& r) {
  name("audit actor", r.actor, kMaxAuditText);
  name("audit operation", r.operation, kMaxAuditText);
  name("audit result", r.result, kMaxAuditText);
  text("audit issuer", r.issuer, kMaxAuditText);
  text("audit request id", r.request_id, kMaxAuditText);
  if (r.kdd && (r.kdd->empty() || r.kdd->size() > 64)) invalid("audit KDD must be 1..64 bytes");
  if (!r.detail.is_null() && !r.detail.is_object()) invalid("audit detail must be a JSON object");
  // nlohmann::json keeps object keys sorted, so dump() is canonical; invalid UTF-8 is
  // replaced rather than refused, so an odd client string cannot block the audit.
  std::string detail =
      r.detail.is_null() ? "{}" : r.detail.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (detail.size() > kMaxAuditDetail) {
    invalid("audit detail longer than " + std::to_string(kMaxAuditDetail) + " bytes");
  }
  return detail;
}

}  // namespace sekds::store::validate
