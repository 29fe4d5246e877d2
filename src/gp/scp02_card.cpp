// SCP02 card side (the virtual secure element): answers INITIALIZE UPDATE, verifies
// EXTERNAL AUTHENTICATE, unwraps commands and wraps responses.
#include "gp/error.h"
#include "gp/scp02.h"

namespace sekds::gp {

Scp02Card::Scp02Card(StaticKeys keys, Scp02CardOptions options)
    : Scp02Channel(std::move(keys), options.i), options_(std::move(options)) {
  detail::require_length(options_.kdd, kKddLength, "key diversification data");
  if ((i_ & scp02_i::kPseudoRandomChallenge) != 0 && (options_.aid.size() < 5 || options_.aid.size() > 16))
    throw GpError(Errc::InvalidLength, "SCP02 i with a pseudo-random card challenge needs the 5 to 16-byte AID");
  if (options_.fixed_card_challenge) detail::require_length(*options_.fixed_card_challenge, 6, "SCP02 card challenge");
}

void Scp02Card::fail(Errc code, const std::string& what) {
  close();
  throw GpError(code, "SCP02: " + what);
}

void Scp02Card::close() noexcept {
  state_ = State::Closed;
  response_due_ = false;
  last_wrapped_.clear();
  reset();
  sk_ = {};
  key_encryptor_.reset();
}

void Scp02Card::check_replay(const CommandApdu& wrapped) {
  if (!last_wrapped_.empty() && wrapped.encode() == last_wrapped_)
    fail(Errc::CounterReplay, "a command identical to the previous one was received again (replay)");
}

CardStep Scp02Card::initialize_update(const CommandApdu& cmd) {
  close();  // INITIALIZE UPDATE aborts whatever session was running
  InitializeUpdateCommand iu;
  try {
    iu = InitializeUpdateCommand::parse(cmd);
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
  if (iu.host_challenge.size() != 8)
    fail(Errc::InvalidLength, "host challenge must be 8 bytes, got " + std::to_string(iu.host_challenge.size()));
  if (iu.kvn != 0 && iu.kvn != options_.kvn)
    fail(Errc::InvalidArgument, "key version " + std::to_string(iu.kvn) + " is not this key set (" +
                                    std::to_string(options_.kvn) + ")");
  const std::uint16_t counter = options_.sequence_counter;
  if (counter == 0xFFFF) fail(Errc::CounterReplay, "sequence counter exhausted: no further session can be opened");
  derive(counter);
  if ((i_ & scp02_i::kPseudoRandomChallenge) != 0)
    card_challenge_ = scp02_pseudo_random_card_challenge(sk_.cmac, options_.aid);
  else
    card_challenge_ = options_.fixed_card_challenge ? *options_.fixed_card_challenge : random_bytes(6);
  host_challenge_ = iu.host_challenge;

  InitializeUpdateResponse r;
  r.kdd = options_.kdd;
  r.kvn = options_.kvn;
  r.scp = Scp::Scp02;
  r.sequence_counter = counter;
  r.card_challenge = card_challenge_;
  r.card_cryptogram = scp02_card_cryptogram(sk_.enc, host_challenge_, counter, card_challenge_);
  state_ = State::AwaitingExternalAuthenticate;
  return {ResponseApdu{r.encode(), 0x9000}, std::nullopt};
}

CardStep Scp02Card::external_authenticate(const CommandApdu& cmd) {
  check_replay(cmd);
  if (state_ != State::AwaitingExternalAuthenticate)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE");
  if (cmd.ins != kInsExternalAuthenticate) fail(Errc::ApduMalformed, "not an EXTERNAL AUTHENTICATE command");
  if ((cmd.cla & kClaSecureMessaging) == 0) fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE without C-MAC");
  if (cmd.data.size() != 16)
    fail(Errc::ApduMalformed, "EXTERNAL AUTHENTICATE data must be 16 bytes (cryptogram and C-MAC), got " +
                                  std::to_string(cmd.data.size()));
  if (!SecurityLevel::valid(cmd.p1) || (cmd.p1 & SecurityLevel::kREncryption) != 0 || cmd.p2 != 0)
    fail(Errc::Unsupported, "security level P1=" + std::to_string(cmd.p1) + " is not an SCP02 level");
  const ByteView data(cmd.data);
  const ByteView cryptogram = data.subspan(0, 8), mac = data.subspan(8);
  if (!equal_ct(cryptogram, scp02_host_cryptogram(sk_.enc, host_challenge_, options_.sequence_counter, card_challenge_)))
    fail(Errc::CryptogramMismatch, "host cryptogram does not verify");
  const CommandApdu plain(static_cast<std::uint8_t>(cmd.cla & ~kClaSecureMessaging), cmd.ins, cmd.p1, cmd.p2,
                          to_bytes(cryptogram));
  if (!equal_ct(mac, compute_cmac(plain, cmd.is_extended())))
    fail(Errc::MacMismatch, "C-MAC of EXTERNAL AUTHENTICATE does not verify");
  chain_cmac(mac);
  rmac_icv_ = to_bytes(mac);
  level_ = SecurityLevel(cmd.p1);
  state_ = State::Open;
  last_wrapped_ = cmd.encode();
  // GP E.4.1: the counter advances once a session has been opened.
  options_.sequence_counter = static_cast<std::uint16_t>(options_.sequence_counter + 1);
  return {ResponseApdu{{}, 0x9000}, options_.sequence_counter};
}

CommandApdu Scp02Card::unwrap(const CommandApdu& wrapped) {
  // Only a MAC'd command can be recognised as a replay; at level 00 two identical plain
  // commands in a row are legitimate (the level gives no replay protection by definition).
  if (level_.c_mac()) check_replay(wrapped);
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "no secure channel is open");
  CommandApdu plain = wrapped;
  if (level_.c_mac()) {
    if ((wrapped.cla & kClaSecureMessaging) == 0)
      fail(Errc::SecurityNotSatisfied, "command without secure messaging in a C-MAC session");
    if (wrapped.data.size() < 8)
      fail(Errc::ApduMalformed, "command data of " + std::to_string(wrapped.data.size()) + " bytes is shorter than its C-MAC");
    const ByteView all(wrapped.data);
    const ByteView body = all.subspan(0, all.size() - 8), mac = all.subspan(all.size() - 8);
    plain.cla = static_cast<std::uint8_t>(wrapped.cla & ~kClaSecureMessaging);
    plain.force_extended = false;
    try {
      plain.data = level_.c_decryption() && !body.empty() ? decrypt_data(body) : to_bytes(body);
    } catch (const GpError& e) {
      fail(e.code(), e.what());
    }
    if (!equal_ct(mac, compute_cmac(plain, wrapped.is_extended()))) fail(Errc::MacMismatch, "C-MAC does not verify");
    chain_cmac(mac);
  }
  last_wrapped_ = wrapped.encode();
  if (level_.r_mac()) remember_command(plain);
  response_due_ = true;
  return plain;
}

ResponseApdu Scp02Card::wrap(const ResponseApdu& plain) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "no secure channel is open");
  if (!response_due_) fail(Errc::SecurityNotSatisfied, "no unwrapped command is awaiting this response");
  response_due_ = false;
  if (!level_.r_mac()) return plain;
  if (!sw_is_success(plain.sw)) return ResponseApdu{{}, plain.sw};  // error status: no data, no R-MAC
  const Bytes mac = compute_rmac(plain.data, plain.sw);
  chain_rmac(mac);
  return ResponseApdu{concat({plain.data, mac}), plain.sw};
}

const KeyEncryptor& Scp02Card::key_encryptor() const {
  if (state_ != State::Open || !key_encryptor_)
    throw GpError(Errc::SecurityNotSatisfied, "SCP02: PUT KEY key decryption needs an open secure channel");
  return *key_encryptor_;
}

}  // namespace sekds::gp
