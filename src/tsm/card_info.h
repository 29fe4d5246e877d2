// Step 2 of the flow: what the TSM reads from the Issuer Security Domain without a secure
// channel. SELECT the ISD, then GET DATA of every tag, the TTP URL first:
//   '5F50' TTP URL, 'CF' KDD, 'E0' key information, 'C1' sequence counter (required: CF, E0, C1),
//   '42' IIN, '45' CIN, '66' card recognition data (the card's SCP and i), '9F7F' CPLC.
// An optional tag the card does not have (6A88) is absent; any other status word is an error.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gp/data_objects.h"
#include "gp/scp_common.h"
#include "tsm/card_transport.h"

namespace sekds::tsm {

// GlobalPlatform's default ISD AID.
inline const gp::Bytes kIsdAid{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};

struct CardInfo {
  std::string card;        // the transport's description
  gp::Bytes atr;           // empty when not reset
  gp::Bytes isd_aid;
  std::optional<gp::SdManagerUrl> url;
  gp::Kdd kdd{gp::Bytes(gp::Kdd::kLength, 0)};
  gp::KeyInformation key_information;
  gp::Bytes key_information_template;  // 'E0' L ... as read (wrapped in 'E0' if the card sent bare 'C0's)
  gp::SequenceCounter sequence_counter{0, 2};
  std::optional<gp::IssuerIdentificationNumber> iin;
  std::optional<gp::CardImageNumber> cin;
  std::optional<gp::CardRecognitionData> card_recognition;
  std::optional<gp::Cplc> cplc;

  // The card's protocol and i from '66' (the first '64' entry); nullopt without '66'.
  std::optional<gp::ScpOption> scp_option() const;
  // The SCP: from '66', else from the counter width (2 bytes: SCP02, 3 bytes: SCP03).
  gp::Scp scp() const;
  // The key set versions the card lists that pass KeyInformation::check_key_set.
  std::vector<std::uint8_t> key_set_versions() const { return key_information.usable_key_set_versions(); }
};

struct DiscoverOptions {
  bool reset = true;  // reset the card first (ends any session; the ATR is reported)
};

// Throws TsmError: CardTransport, CardStatus (named SW), CardData (a malformed object).
CardInfo discover_card(CardTransport& transport, const DiscoverOptions& options = {});

// SELECT by AID (00 A4 04 00); returns the FCI. Throws TsmError(CardStatus) unless 9000.
gp::Bytes select_aid(CardTransport& transport, gp::ByteView aid);

// JSON with the URL first; keys in hex, never anything secret (a card has none to give).
nlohmann::ordered_json card_info_json(const CardInfo& info);
void print_card_info(const CardInfo& info, std::ostream& out);

}  // namespace sekds::tsm
