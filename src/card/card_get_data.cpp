// GET DATA (GP 2.3.1 §11.3): the data objects a TSM reads before it has any key (DESIGN §1
// step 2). No secure channel is needed; inside one the command comes wrapped like any other.
// Each object is answered with its tag, encoded by src/gp.
#include "card/card.h"
#include "card/card_data.h"
#include "card/sw.h"
#include "gp/data_objects.h"

namespace sekds::card {

gp::ResponseApdu Card::get_data(const gp::CommandApdu& c) const {
  // P1 P2 is the tag ('00 CF' for the one-byte tag 'CF'); these objects take no command data.
  if (!c.data.empty()) throw SwError(gp::kSwWrongLength, "GET DATA for these tags has no command data");
  const gp::Tag tag = c.p1 == 0 ? c.p2 : static_cast<gp::Tag>((c.p1 << 8) | c.p2);
  const CardIdentity& id = state_.identity;
  Bytes out;
  switch (tag) {
    case gp::kTagSdManagerUrl:
      if (id.url.empty()) throw SwError(gp::kSwReferencedDataNotFound, "no URL personalised");
      out = gp::SdManagerUrl::from_string(id.url).encode();
      break;
    case gp::kTagKdd: out = gp::Kdd(id.kdd).encode(); break;
    case gp::kTagKeyInformationTemplate: out = key_information(state_).encode(); break;
    case gp::kTagSequenceCounter: {
      const KeySet* ks = state_.default_key_set();
      if (ks == nullptr) throw SwError(gp::kSwReferencedDataNotFound, "no default key set");
      out = gp::SequenceCounter(ks->counter, counter_width(id.scp)).encode();
      break;
    }
    case gp::kTagIin:
      if (id.iin.empty()) throw SwError(gp::kSwReferencedDataNotFound, "no IIN personalised");
      out = gp::IssuerIdentificationNumber{id.iin}.encode();
      break;
    case gp::kTagCin:
      if (id.cin.empty()) throw SwError(gp::kSwReferencedDataNotFound, "no CIN personalised");
      out = gp::CardImageNumber{id.cin}.encode();
      break;
    case gp::kTagCardData: out = card_recognition_data(id).encode(); break;
    case gp::kTagCplc: out = gp::Cplc::parse(id.cplc).encode(); break;
    default: throw SwError(gp::kSwReferencedDataNotFound, "GET DATA: unknown tag");
  }
  return gp::ResponseApdu{std::move(out), gp::kSwNoError};
}

}  // namespace sekds::card
