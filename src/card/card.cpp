// The card engine's front door: class byte, selection, secure messaging on every command of
// an open session, dispatch to the command handlers, and the one place where a refusal
// (SwError) or any unexpected failure becomes a status word.
#include "card/card.h"
#include "card/card_data.h"

#include <algorithm>

#include "card/sw.h"
#include "gp/tlv.h"

namespace sekds::card {

namespace {

constexpr std::uint8_t kInsSelect = 0xA4;
constexpr std::uint8_t kInsGetData = 0xCA;
constexpr std::uint8_t kInsGetStatus = 0xF2;
constexpr std::uint8_t kInsInstall = 0xE6;
constexpr std::uint8_t kInsLoad = 0xE8;
constexpr std::uint8_t kInsDelete = 0xE4;
constexpr std::uint8_t kInsStoreData = 0xE2;

bool gp_command(std::uint8_t ins) noexcept {
  switch (ins) {
    case gp::kInsPutKey:
    case kInsGetStatus:
    case kInsInstall:
    case kInsLoad:
    case kInsDelete:
    case kInsStoreData: return true;
    default: return false;
  }
}

// Card and key management: what changes the keys or the content of the card.
bool management_command(std::uint8_t ins) noexcept {
  return ins == gp::kInsPutKey || ins == kInsInstall || ins == kInsLoad || ins == kInsDelete;
}

bool known_ins(std::uint8_t ins) noexcept { return gp_command(ins) || ins == kInsGetData; }

gp::ResponseApdu sw_only(std::uint16_t sw) { return gp::ResponseApdu{{}, sw}; }

Bytes make_atr() {
  // TS=3B (direct convention); T0=88: TD1 follows, 8 historical bytes; TD1=80: TD2 follows,
  // T=0; TD2=01: T=1; the historical bytes; TCK (needed when T=1 is offered).
  Bytes atr{0x3B, 0x88, 0x80, 0x01, 'S', 'E', 'K', 'D', 'S', '-', 'G', 'P'};
  std::uint8_t tck = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) tck = static_cast<std::uint8_t>(tck ^ atr[i]);
  atr.push_back(tck);
  return atr;
}

bool starts_with(ByteView v, ByteView prefix) {
  return prefix.size() <= v.size() && std::equal(prefix.begin(), prefix.end(), v.begin());
}

}  // namespace

Card::Card(CardState state, CardStore* store, CardLimits limits)
    : state_(std::move(state)), store_(store), limits_(limits) {
  // FCI of the ISD (GP 2.3.1 §11.9.3.1): '6F' { '84' AID, 'A5' { '73' Security Domain
  // Management Data (the card recognition data), '9F65' maximum command data length } }.
  const gp::Tlv card_data = gp::parse_tlv(card_recognition_data(state_.identity).encode());
  Bytes a5 = card_data.children.front().encode();
  gp::append_tlv(a5, 0x9F65, Bytes{0xFF});
  Bytes body = gp::encode_tlv(0x84, kIsdAid);
  gp::append_tlv(body, 0xA5, a5);
  isd_fci_ = gp::encode_tlv(0x6F, body);
}

Card::~Card() = default;

const Bytes& Card::atr() {
  static const Bytes a = make_atr();
  return a;
}

const Bytes& Card::reset() {
  close_session();
  selected_.reset();
  return atr();
}

bool Card::secure_channel_open() const noexcept { return session_ && session_->is_open(); }

gp::SecurityLevel Card::security_level() const noexcept {
  return secure_channel_open() ? session_->security_level() : gp::SecurityLevel{};
}

void Card::close_session() noexcept {
  session_.reset();
  awaiting_external_authenticate_ = false;
  // What a session authorised ends with it.
  pending_load_.reset();
  pending_store_data_.reset();
  status_cursor_.reset();
}

void Card::require_session() const {
  if (!secure_channel_open()) throw SwError(gp::kSwSecurityStatusNotSatisfied, "this command needs a secure channel");
}

void Card::require_management_level() const {
  const std::uint8_t need = state_.identity.management_level.byte();
  // The session stays open: the channel itself is sound, only this command needs more.
  if ((session_->security_level().byte() & need) != need)
    throw SwError(gp::kSwSecurityStatusNotSatisfied, "this command needs a session at security level " +
                                                         state_.identity.management_level.to_string() + " or above");
}

Bytes Card::transmit(ByteView command) {
  gp::CommandApdu c;
  try {
    c = gp::CommandApdu::parse(command);
  } catch (const gp::GpError&) {
    // Not an APDU at all: wrong length. A session cannot survive an unverifiable command.
    close_session();
    return gp::ResponseApdu{{}, gp::kSwWrongLength}.encode();
  }
  return process(c).encode();
}

gp::ResponseApdu Card::process(const gp::CommandApdu& c) {
  try {
    const std::uint8_t cla = c.cla;
    const std::uint8_t base = static_cast<std::uint8_t>(cla & ~0x07);
    // ISO 7816-4 §5.1.1: b2-b1 of 00/80-class bytes name the logical channel; only the basic one exists.
    if ((base == 0x00 || base == 0x80) && (cla & 0x03) != 0) return sw_only(kSwLogicalChannelNotSupported);
    if (cla != 0x00 && cla != 0x04 && cla != 0x80 && cla != 0x84) return sw_only(gp::kSwClaNotSupported);

    if (c.ins == kInsSelect) {
      if (cla != 0x00) return sw_only(gp::kSwClaNotSupported);
      return select(c);
    }
    // The virtual applications have no behaviour of their own.
    if (selected_) return sw_only(gp::kSwInsNotSupported);

    if (c.ins == gp::kInsInitializeUpdate) {
      if (cla != gp::kClaGp) return sw_only(gp::kSwClaNotSupported);  // never wrapped
      return initialize_update(c);
    }
    if (c.ins == gp::kInsExternalAuthenticate) {
      if ((cla & 0x80) == 0) return sw_only(gp::kSwClaNotSupported);
      return external_authenticate(c);
    }

    if (!secure_channel_open()) {
      if (awaiting_external_authenticate_) close_session();  // anything else aborts the handshake
      if (!known_ins(c.ins)) return sw_only(gp::kSwInsNotSupported);
      if ((cla & gp::kClaSecureMessaging) != 0)
        return sw_only(gp::kSwSecurityStatusNotSatisfied);  // secure messaging without a session
      return dispatch(c);
    }

    // Security level 00: authenticated, no secure messaging (GP 2.3.1 §10.2.3). Commands are
    // plain and may repeat; one that claims secure messaging ends the session.
    if (!session_->security_level().c_mac()) {
      if ((cla & gp::kClaSecureMessaging) != 0) {
        close_session();
        return sw_only(gp::kSwSecurityStatusNotSatisfied);
      }
      return dispatch(c);
    }
    // Open session: EVERY command goes through secure messaging first, so a bad MAC, a
    // missing MAC or a replay ends the session whatever the command is (GP 2.3.1 §E.4.4,
    // Amd D §6.2.4: rejected with '6982' and the session terminated).
    gp::CommandApdu plain;
    try {
      plain = session_->unwrap(c);
    } catch (const gp::GpError& e) {
      close_session();
      return sw_only(secure_channel_sw(c.ins, e.code()));
    }
    return session_->wrap(dispatch(plain));
  } catch (const SwError& e) {
    return sw_only(e.sw());
  } catch (const std::exception&) {
    close_session();
    return sw_only(kSwNoPreciseDiagnosis);
  }
}

gp::ResponseApdu Card::dispatch(const gp::CommandApdu& c) {
  try {
    if (c.ins == kInsGetData) {
      if (c.cla != 0x00 && c.cla != 0x80) return sw_only(gp::kSwClaNotSupported);
      return get_data(c);
    }
    if (!gp_command(c.ins)) return sw_only(gp::kSwInsNotSupported);
    if (c.cla != gp::kClaGp) return sw_only(gp::kSwClaNotSupported);
    require_session();
    if (management_command(c.ins)) require_management_level();
    switch (c.ins) {
      case gp::kInsPutKey: return put_key(c);
      case kInsGetStatus: return get_status(c);
      case kInsInstall: return install(c);
      case kInsLoad: return load(c);
      case kInsDelete: return delete_object(c);
      case kInsStoreData: return store_data(c);
      default: return sw_only(gp::kSwInsNotSupported);
    }
  } catch (const SwError& e) {
    return sw_only(e.sw());
  }
}

void Card::persist(const std::function<void(CardStore&)>& write) {
  if (store_ == nullptr) return;
  try {
    write(*store_);
  } catch (const std::exception& e) {
    throw SwError(kSwMemoryFailure, std::string("card state not saved: ") + e.what());
  }
}

gp::ResponseApdu Card::select(const gp::CommandApdu& c) {
  // GP 2.3.1 §11.9: P1 04 select by name; P2 00 first or only occurrence, 02 next
  // occurrence, 0C (ISO) no response data.
  if (c.p1 != 0x04) throw SwError(gp::kSwIncorrectP1P2, "SELECT supports selection by AID (P1 04) only");
  if (c.p2 != 0x00 && c.p2 != 0x02 && c.p2 != 0x0C) throw SwError(gp::kSwIncorrectP1P2, "SELECT P2 not supported");
  // Candidates in registry order: the ISD, then the selectable applications. An empty AID
  // selects the ISD (GP 2.3.1 §11.9.2.3); a shorter AID is a partial (prefix) selection.
  std::vector<const Bytes*> matches;
  if (starts_with(kIsdAid, c.data)) matches.push_back(&kIsdAid);
  if (!c.data.empty())
    for (const auto& a : state_.registry.applications)
      if (a.selectable() && starts_with(a.aid, c.data)) matches.push_back(&a.aid);
  const Bytes* target = nullptr;
  if (c.p2 == 0x02) {
    const Bytes& current = selected_ ? *selected_ : kIsdAid;
    auto it = std::find_if(matches.begin(), matches.end(), [&](const Bytes* m) { return *m == current; });
    if (it == matches.end()) {
      if (!matches.empty()) target = matches.front();  // the current one does not match: first occurrence
    } else if (std::next(it) != matches.end()) {
      target = *std::next(it);
    }
  } else if (!matches.empty()) {
    target = matches.front();
  }
  if (target == nullptr || c.data.size() > 16) throw SwError(gp::kSwFileNotFound, "no application with that AID");

  // Selecting ends the secure channel of the previously selected security domain.
  close_session();
  const bool isd = *target == kIsdAid;
  if (isd)
    selected_.reset();
  else
    selected_ = *target;
  if (c.p2 == 0x0C || !isd) return sw_only(gp::kSwNoError);
  return gp::ResponseApdu{isd_fci_, gp::kSwNoError};
}

}  // namespace sekds::card
