#include "service/authorizer.h"

#include <fmt/format.h>

namespace sekds::service {
namespace {

Refusal refuse(FaultCode code, std::string message, std::string reason) {
  return Refusal{Fault{code, std::move(message)}, std::move(reason)};
}

// The one answer for an IIN the TSM may not use, whether an issuer has it or not: another code
// or text for an unknown IIN would tell an unentitled TSM which IINs exist. The text is fixed
// (not even the IIN echoed), so the two answers are the same bytes; only `reason` (the audit's,
// the operator's view) tells them apart.
Refusal not_entitled_to_iin(std::string reason) {
  return refuse(FaultCode::NotEntitled, "this TSM is not entitled to the issuer of this IssuerIdentificationNumber",
                std::move(reason));
}

}  // namespace

gp::KeyType card_key_type(const store::KeySet& ks) noexcept {
  return gp::method_is_des(ks.spec.method) ? gp::KeyType::Des2 : ks.spec.key_type;
}

Decision<store::Tsm> Authorizer::caller(const CallerIdentity& who) {
  std::optional<store::Tsm> tsm;
  if (!who.cert_sha256_hex.empty()) tsm = store_.find_tsm_by_fingerprint(who.cert_sha256_hex);
  if (!tsm)
    return refuse(FaultCode::NotAccredited, "the client certificate belongs to no accredited TSM", "unknown_certificate");
  if (tsm->state != store::TsmState::Accredited) {
    Refusal r = refuse(FaultCode::NotAccredited, "the accreditation of this TSM is revoked", "revoked");
    r.actor = tsm->name;
    return r;
  }
  return *std::move(tsm);
}

Decision<store::Issuer> Authorizer::issuer(const store::Tsm& tsm, const CardRequest& card) {
  std::optional<store::Issuer> issuer;
  if (card.iin_hex) {
    issuer = store_.find_issuer_by_iin(*card.iin_hex);
    if (!issuer) return not_entitled_to_iin("unknown_iin");
  } else {
    std::vector<store::Entitlement> mine = store_.list_entitlements(std::string_view(tsm.name));
    if (mine.empty())
      return refuse(FaultCode::InvalidArgument,
                    "IssuerIdentificationNumber is required: this TSM is entitled to no issuer", "no_iin_no_entitlement");
    if (mine.size() > 1)
      return refuse(FaultCode::InvalidArgument,
                    fmt::format("IssuerIdentificationNumber is required: this TSM is entitled to {} issuers", mine.size()),
                    "no_iin_several_issuers");
    issuer = store_.find_issuer(mine.front().issuer);
    if (!issuer)  // ungranted and removed between the two reads
      return refuse(FaultCode::NotEntitled, "this TSM is entitled to no issuer", "not_entitled");
  }
  return *std::move(issuer);
}

std::optional<Refusal> Authorizer::entitlement(const store::Tsm& tsm, const store::Issuer& issuer) {
  if (store_.is_entitled(tsm.name, issuer.name)) return std::nullopt;
  return not_entitled_to_iin("not_entitled");
}

Decision<store::KeySet> Authorizer::key_set(const store::Issuer& issuer, std::uint8_t kvn) {
  std::optional<store::KeySet> ks = store_.find_key_set(issuer.name, kvn);
  if (!ks)
    return refuse(FaultCode::UnknownKeySet,
                  "the issuer with IIN " + issuer.iin + " has no key set version " + kvn_text(kvn), "unknown_key_set");
  if (ks->state != store::KeySetState::Active)
    return refuse(FaultCode::UnknownKeySet,
                  "key set version " + kvn_text(kvn) + " of the issuer with IIN " + issuer.iin + " is disabled",
                  "key_set_disabled");
  return *std::move(ks);
}

Decision<store::Kek> Authorizer::kek(const store::Tsm& tsm, std::uint32_t index, store::Timestamp now) {
  std::optional<store::Kek> kek = store_.find_kek(tsm.name, index);
  if (!kek) return refuse(FaultCode::UnknownKek, fmt::format("this TSM has no KEK with index {}", index), "unknown_kek");
  if (kek->state != store::KekState::Active)
    return refuse(FaultCode::KekNotActive,
                  fmt::format("KEK index {} is {}", index,
                              kek->state == store::KekState::Pending ? "pending (not activated yet)" : "retired"),
                  std::string("kek_") + store::kek_state_name(kek->state));
  if (kek->spec.valid_from && now < *kek->spec.valid_from)
    return refuse(FaultCode::KekNotActive,
                  fmt::format("KEK index {} is not valid before {}", index, store::format_timestamp(*kek->spec.valid_from)),
                  "kek_not_yet_valid");
  if (kek->spec.valid_until && now >= *kek->spec.valid_until)
    return refuse(FaultCode::KekNotActive,
                  fmt::format("KEK index {} expired at {}", index, store::format_timestamp(*kek->spec.valid_until)),
                  "kek_expired");
  return *std::move(kek);
}

}  // namespace sekds::service
