// The card data of a WSGetDiversifiedKeys request, checked and parsed BEFORE anything reaches
// the store's key sets or the HSM (DESIGN §8: every input is length- and format-checked first).
// Pure: gp only. Faults name the field and never echo more than the caller sent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "gp/data_objects.h"
#include "gp/key_information.h"
#include "gp/key_type.h"
#include "service/key_service.h"

namespace sekds::service {

// A request whose fields passed validate() (key_service.h) and whose 'E0' template names one
// usable static key set (KIDs 1, 2, 3 of one symmetric type).
struct CardRequest {
  gp::Kdd kdd;
  gp::SequenceCounter counter;
  gp::KeyInformation key_information;
  std::uint8_t kvn = 0;      // KeySetVersion, or the only key set the template lists
  gp::KeySetInfo key_set;    // what the card says about that key set
  std::optional<std::string> iin_hex;  // IssuerIdentificationNumber, uppercase hex
};

// InvalidArgument for malformed fields (KDD, SequenceCounter, a KeyInformation that is not an
// 'E0' template, ...). KeyInformationMismatch when the template lists several key sets and no
// KeySetVersion says which (the WSDL's wording), when KeySetVersion is not in it, or when that
// key set is not one usable ENC/MAC/DEK set.
std::variant<CardRequest, Fault> parse_card_request(const GetKeysRequest& r);

// The card against the server's key set: the sequence counter's width must be the key set's
// SCP (2 bytes SCP02, 3 bytes SCP03; InvalidArgument), the template's key type and length the
// card keys the key set releases (KeyInformationMismatch).
std::optional<Fault> check_card_against_key_set(const CardRequest& card, std::uint8_t scp, gp::KeyType card_key_type);

// SHA-256 (uppercase hex) over every input of the request that determines its answer (KDD,
// KeyInformation, SequenceCounter, KekIndex, KeySetVersion, IIN, CIN, CPLC), length-prefixed.
// A retry with the same RequestId must have the same digest.
std::string request_digest(const GetKeysRequest& r);

// "0x30 (48)" — how KVNs appear in messages.
std::string kvn_text(std::uint8_t kvn);

}  // namespace sekds::service
