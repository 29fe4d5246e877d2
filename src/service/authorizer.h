// Who may have which keys (DESIGN §8), decided from the store on EVERY request: nothing is
// cached here, so a revocation, an ungrant or a KEK state change made by sekds-admin (another
// process) takes effect on the next request.
//
// Each step returns the entity or a Refusal (the fault for the TSM plus a short reason for the
// audit detail). StoreError escapes: the caller fails closed (AuditUnavailable) on storage
// failures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "service/key_service.h"
#include "service/request_validation.h"
#include "store/store.h"

namespace sekds::service {

struct Refusal {
  Fault fault;
  std::string reason;  // for the audit detail: "unknown_certificate", "revoked", "retired", ...
  std::optional<std::string> actor = std::nullopt;  // caller(): the revoked TSM's name
};

template <class T>
using Decision = std::variant<T, Refusal>;

class Authorizer {
 public:
  explicit Authorizer(store::Store& store) : store_(store) {}

  // The accredited, non-revoked TSM whose certificate fingerprint the caller presented.
  Decision<store::Tsm> caller(const CallerIdentity& who);
  // The card's issuer: by IIN when the request has one, otherwise the ONE issuer the TSM is
  // entitled to (none or several -> InvalidArgument saying so). An unknown IIN is refused
  // exactly as entitlement() refuses a known one (NotEntitled, same text; audit reason
  // "unknown_iin"), so a TSM cannot probe which IINs exist.
  Decision<store::Issuer> issuer(const store::Tsm& tsm, const CardRequest& card);
  // NotEntitled unless the TSM is entitled to the issuer. Checked before any key set is looked
  // at, so an unentitled TSM learns nothing about the issuer's key sets (KVNs, states).
  std::optional<Refusal> entitlement(const store::Tsm& tsm, const store::Issuer& issuer);
  // The issuer's ACTIVE key set with the card's KVN (else UnknownKeySet).
  Decision<store::KeySet> key_set(const store::Issuer& issuer, std::uint8_t kvn);
  // The caller's own KEK `index` (another TSM's index is UnknownKek for this caller), active
  // and within its validity at `now` (else KekNotActive).
  Decision<store::Kek> kek(const store::Tsm& tsm, std::uint32_t index, store::Timestamp now);

 private:
  store::Store& store_;
};

// The type of the card keys a key set releases: DES2 for VISA2 / EMV CPS (whatever the
// master's length), the masters' own type otherwise.
gp::KeyType card_key_type(const store::KeySet& ks) noexcept;

}  // namespace sekds::service
