// INITIALIZE UPDATE and EXTERNAL AUTHENTICATE: the card side of the SCP02 / SCP03 handshake,
// run by gp::make_card_session for the key set the host names. The sequence counter the
// protocol advances is written to the store BEFORE the answer leaves the card.
#include "card/card.h"
#include "card/sw.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

namespace sekds::card {

std::uint16_t secure_channel_sw(std::uint8_t ins, gp::Errc errc) noexcept {
  using gp::Errc;
  switch (errc) {
    case Errc::CryptogramMismatch:
      // GP 2.3.1 Appendix E (SCP02) and Amendment D §7.2 (SCP03), EXTERNAL AUTHENTICATE error
      // conditions: '6300' "authentication of host cryptogram failed".
      return gp::kSwAuthenticationFailed;
    case Errc::MacMismatch:
    case Errc::SecurityNotSatisfied:
    case Errc::CounterReplay:
    case Errc::PaddingInvalid:
      // A C-MAC that does not verify, a command without the secure messaging the session
      // requires, a replayed command, undecryptable data: '6982' security status not
      // satisfied, and the session is terminated (GP 2.3.1 §10.2.3, Amd D §6.2).
      if (ins == gp::kInsInitializeUpdate) return gp::kSwConditionsNotSatisfied;  // counter exhausted
      return gp::kSwSecurityStatusNotSatisfied;
    case Errc::InvalidLength:
    case Errc::ApduMalformed:
      // A challenge or cryptogram of the wrong size.
      return gp::kSwWrongLength;
    case Errc::Unsupported:
      // EXTERNAL AUTHENTICATE P1 names a security level the protocol or its i does not offer.
      return gp::kSwIncorrectP1P2;
    case Errc::InvalidArgument:
      // INITIALIZE UPDATE for a key version the card does not hold: '6A88' referenced data
      // not found (GP 2.3.1 Appendix E and Amd D §7.1, INITIALIZE UPDATE error conditions).
      return gp::kSwReferencedDataNotFound;
    default: return kSwNoPreciseDiagnosis;
  }
}

gp::ResponseApdu Card::initialize_update(const gp::CommandApdu& c) {
  close_session();  // INITIALIZE UPDATE starts over, whatever was open
  // P1 is the key version number; 00 means the default key set (GP 2.3.1 §E.5.1.2 / Amd D §7.1.1.2).
  const std::uint8_t requested = c.p1;
  const std::uint8_t kvn = requested == 0 ? state_.default_kvn : requested;
  auto it = state_.key_sets.find(kvn);
  if (it == state_.key_sets.end() || !key_type_fits(state_.identity.scp, it->second.type))
    throw SwError(gp::kSwReferencedDataNotFound, "no key set with that key version number");
  KeySet& ks = it->second;

  gp::CardSessionOptions o;
  o.i = state_.identity.i;
  o.kvn = ks.kvn;
  o.kdd = state_.identity.kdd;
  o.sequence_counter = ks.counter;
  o.aid = kIsdAid;
  gp::CardStep step;
  try {
    session_ = gp::make_card_session(state_.identity.scp, ks.keys, o);
    step = session_->initialize_update(c);
  } catch (const gp::GpError& e) {
    close_session();
    throw SwError(secure_channel_sw(c.ins, e.code()), e.what());
  }
  if (step.next_sequence_counter) {
    const std::uint32_t next = *step.next_sequence_counter;
    try {
      persist([&](CardStore& s) { s.save_counter(state_.slot, ks.kvn, next); });
    } catch (const SwError&) {
      close_session();
      throw;
    }
    ks.counter = next;
  }
  session_kvn_ = ks.kvn;
  awaiting_external_authenticate_ = true;
  return step.response;
}

gp::ResponseApdu Card::external_authenticate(const gp::CommandApdu& c) {
  if (!session_ || !awaiting_external_authenticate_) {
    close_session();
    throw SwError(gp::kSwConditionsNotSatisfied, "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE");
  }
  awaiting_external_authenticate_ = false;
  gp::CardStep step;
  try {
    step = session_->external_authenticate(c);
  } catch (const gp::GpError& e) {
    close_session();  // gp closed its side already; a new INITIALIZE UPDATE is needed
    throw SwError(secure_channel_sw(c.ins, e.code()), e.what());
  }
  if (step.next_sequence_counter) {
    const std::uint32_t next = *step.next_sequence_counter;
    try {
      persist([&](CardStore& s) { s.save_counter(state_.slot, session_kvn_, next); });
    } catch (const SwError&) {
      close_session();  // the host must not get a session the card could not account for
      throw;
    }
    state_.key_sets.at(session_kvn_).counter = next;
  }
  return step.response;
}

}  // namespace sekds::card
