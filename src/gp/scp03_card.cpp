// SCP03 card side (the virtual secure element): answers INITIALIZE UPDATE, verifies
// EXTERNAL AUTHENTICATE, unwraps commands and wraps responses.
#include "gp/scp03.h"

namespace sekds::gp {

Scp03Card::Scp03Card(StaticKeys keys, Scp03CardOptions options)
    : Scp03Channel(std::move(keys)), options_(std::move(options)) {
  check_scp03_i(options_.i);
  n_ = (options_.i & scp03_i::kS16) != 0 ? 16 : 8;
  detail::require_length(options_.kdd, kKddLength, "key diversification data");
  if (options_.sequence_counter > 0xFFFFFF) throw GpError(Errc::InvalidArgument, "SCP03 sequence counter is 3 bytes");
  if ((options_.i & scp03_i::kPseudoRandomChallenge) != 0 && (options_.aid.size() < 5 || options_.aid.size() > 16))
    throw GpError(Errc::InvalidLength, "SCP03 i with a pseudo-random card challenge needs the 5 to 16-byte AID");
  if (options_.fixed_card_challenge) detail::require_length(*options_.fixed_card_challenge, n_, "SCP03 card challenge");
}

void Scp03Card::fail(Errc code, const std::string& what) {
  close();
  throw GpError(code, "SCP03: " + what);
}

void Scp03Card::close() noexcept {
  state_ = State::Closed;
  response_due_ = false;
  last_wrapped_.clear();
  reset();
  sk_ = {};
  key_encryptor_.reset();
}

void Scp03Card::check_replay(const CommandApdu& wrapped) {
  if (!last_wrapped_.empty() && wrapped.encode() == last_wrapped_)
    fail(Errc::CounterReplay, "a command identical to the previous one was received again (replay)");
}

CardStep Scp03Card::initialize_update(const CommandApdu& cmd) {
  close();  // INITIALIZE UPDATE aborts whatever session was running
  InitializeUpdateCommand iu;
  try {
    iu = InitializeUpdateCommand::parse(cmd);
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
  if (iu.host_challenge.size() != n_)
    fail(Errc::InvalidLength, "host challenge must be " + std::to_string(n_) + " bytes in this mode, got " +
                                  std::to_string(iu.host_challenge.size()));
  if (iu.kvn != 0 && iu.kvn != options_.kvn)
    fail(Errc::InvalidArgument, "key version " + std::to_string(iu.kvn) + " is not this key set (" +
                                    std::to_string(options_.kvn) + ")");
  InitializeUpdateResponse r;
  r.kdd = options_.kdd;
  r.kvn = options_.kvn;
  r.scp = Scp::Scp03;
  r.i = options_.i;
  std::optional<std::uint32_t> next;
  if ((options_.i & scp03_i::kPseudoRandomChallenge) != 0) {
    const std::uint32_t counter = options_.sequence_counter;
    if (counter == 0xFFFFFF) fail(Errc::CounterReplay, "sequence counter exhausted: no further session can be opened");
    card_challenge_ = scp03_pseudo_random_card_challenge(keys_.enc, counter, options_.aid, n_);
    r.sequence_counter = counter;
    next = counter + 1;
    options_.sequence_counter = *next;
  } else {
    card_challenge_ = options_.fixed_card_challenge ? *options_.fixed_card_challenge : random_bytes(n_);
  }
  host_challenge_ = iu.host_challenge;
  derive(host_challenge_, card_challenge_);
  r.card_challenge = card_challenge_;
  r.card_cryptogram = scp03_card_cryptogram(sk_.mac, host_challenge_, card_challenge_, n_);
  state_ = State::AwaitingExternalAuthenticate;
  return {ResponseApdu{r.encode(), 0x9000}, next};
}

CardStep Scp03Card::external_authenticate(const CommandApdu& cmd) {
  check_replay(cmd);
  if (state_ != State::AwaitingExternalAuthenticate)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE");
  if (cmd.ins != kInsExternalAuthenticate) fail(Errc::ApduMalformed, "not an EXTERNAL AUTHENTICATE command");
  if ((cmd.cla & kClaSecureMessaging) == 0) fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE without C-MAC");
  if (cmd.data.size() != 2 * n_)
    fail(Errc::ApduMalformed, "EXTERNAL AUTHENTICATE data must be " + std::to_string(2 * n_) +
                                  " bytes (cryptogram and C-MAC), got " + std::to_string(cmd.data.size()));
  if (!SecurityLevel::valid(cmd.p1) || cmd.p2 != 0)
    fail(Errc::Unsupported, "P1=" + std::to_string(cmd.p1) + " is not a security level");
  const SecurityLevel level(cmd.p1);
  try {
    check_scp03_level(options_.i, level);
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
  const ByteView data(cmd.data);
  const ByteView cryptogram = data.subspan(0, n_), mac = data.subspan(n_);
  if (!equal_ct(cryptogram, scp03_host_cryptogram(sk_.mac, host_challenge_, card_challenge_, n_)))
    fail(Errc::CryptogramMismatch, "host cryptogram does not verify");
  const Bytes full = compute_cmac(cmd.cla, cmd.ins, cmd.p1, cmd.p2, cryptogram, cmd.is_extended());
  if (!equal_ct(mac, ByteView(full).subspan(0, n_))) fail(Errc::MacMismatch, "C-MAC of EXTERNAL AUTHENTICATE does not verify");
  chaining_ = full;
  level_ = level;
  state_ = State::Open;
  last_wrapped_ = cmd.encode();
  return {ResponseApdu{{}, 0x9000}, std::nullopt};
}

CommandApdu Scp03Card::unwrap(const CommandApdu& wrapped) {
  // Only a MAC'd command can be recognised as a replay; at level 00 two identical plain
  // commands in a row are legitimate (the level gives no replay protection by definition).
  if (level_.c_mac()) check_replay(wrapped);
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "no secure channel is open");
  CommandApdu plain = wrapped;
  if (level_.c_mac()) {
    if ((wrapped.cla & kClaSecureMessaging) == 0)
      fail(Errc::SecurityNotSatisfied, "command without secure messaging in a C-MAC session");
    if (wrapped.data.size() < n_)
      fail(Errc::ApduMalformed, "command data of " + std::to_string(wrapped.data.size()) + " bytes is shorter than its C-MAC");
    const ByteView all(wrapped.data);
    const ByteView body = all.subspan(0, all.size() - n_), mac = all.subspan(all.size() - n_);
    const Bytes full = compute_cmac(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2, body, wrapped.is_extended());
    if (!equal_ct(mac, ByteView(full).subspan(0, n_))) fail(Errc::MacMismatch, "C-MAC does not verify");
    chaining_ = full;
    plain.cla = static_cast<std::uint8_t>(wrapped.cla & ~kClaSecureMessaging);
    plain.force_extended = false;
    plain.data = to_bytes(body);
    if (level_.c_decryption()) {
      ++enc_counter_;
      if (!body.empty()) {
        try {
          plain.data = decrypt_command(body);
        } catch (const GpError& e) {
          fail(e.code(), e.what());
        }
      }
    }
  }
  last_wrapped_ = wrapped.encode();
  response_due_ = true;
  return plain;
}

ResponseApdu Scp03Card::wrap(const ResponseApdu& plain) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "no secure channel is open");
  if (!response_due_) fail(Errc::SecurityNotSatisfied, "no unwrapped command is awaiting this response");
  response_due_ = false;
  if (!level_.r_mac()) return plain;
  if (!sw_is_success(plain.sw)) return ResponseApdu{{}, plain.sw};  // error status: no data, no R-MAC
  const Bytes body = level_.r_encryption() && !plain.data.empty() ? encrypt_response(plain.data) : plain.data;
  return ResponseApdu{concat({body, compute_rmac(body, plain.sw)}), plain.sw};
}

const KeyEncryptor& Scp03Card::key_encryptor() const {
  if (state_ != State::Open || !key_encryptor_)
    throw GpError(Errc::SecurityNotSatisfied, "SCP03: PUT KEY key decryption needs an open secure channel");
  return *key_encryptor_;
}

}  // namespace sekds::gp
