// SCP03 host side (the TSM): INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, command wrapping.
#include <cstdio>

#include "gp/scp03.h"

namespace sekds::gp {

namespace {
std::string sw_text(std::uint16_t sw) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", sw);
  return buf;
}
}  // namespace

Scp03Host::Scp03Host(StaticKeys keys, Scp03HostOptions options)
    : Scp03Channel(std::move(keys)), options_(std::move(options)) {
  n_ = options_.s16 ? 16 : 8;
  if (options_.aid && (options_.aid->size() < 5 || options_.aid->size() > 16))
    throw GpError(Errc::InvalidLength, "AID must be 5 to 16 bytes, got " + std::to_string(options_.aid->size()));
}

void Scp03Host::fail(Errc code, const std::string& what) {
  close();
  throw GpError(code, "SCP03: " + what);
}

void Scp03Host::close() noexcept {
  state_ = State::Closed;
  awaiting_response_ = false;
  reset();
  sk_ = {};
  key_encryptor_.reset();
}

CommandApdu Scp03Host::initialize_update(std::uint8_t kvn) { return initialize_update(kvn, random_bytes(n_)); }

CommandApdu Scp03Host::initialize_update(std::uint8_t kvn, ByteView host_challenge) {
  detail::require_length(host_challenge, n_, options_.s16 ? "SCP03 S16 host challenge" : "SCP03 host challenge");
  close();
  state_ = State::AwaitingInitializeUpdate;
  kvn_ = kvn;
  host_challenge_ = to_bytes(host_challenge);
  return InitializeUpdateCommand{kvn, 0x00, host_challenge_}.to_apdu();
}

Bytes Scp03Host::external_authenticate(const ResponseApdu& iu_response, SecurityLevel level) {
  if (state_ != State::AwaitingInitializeUpdate)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE needs a preceding INITIALIZE UPDATE");
  if (iu_response.sw != 0x9000) fail(Errc::SecurityNotSatisfied, "INITIALIZE UPDATE failed with SW " + sw_text(iu_response.sw));
  try {
    card_ = InitializeUpdateResponse::parse(iu_response.data);
    if (card_.scp != Scp::Scp03) throw GpError(Errc::Unsupported, std::string("the card answered for ") + scp_name(card_.scp));
    check_scp03_i(card_.i);
    check_scp03_level(card_.i, level);
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
  if (((card_.i & scp03_i::kS16) != 0) != options_.s16)
    fail(Errc::Unsupported, options_.s16 ? "the card answered in S8 mode to an S16 host" : "the card answered in S16 mode to an S8 host");
  if (kvn_ != 0 && card_.kvn != kvn_)
    fail(Errc::InvalidArgument, "the card answered with key version " + std::to_string(card_.kvn) + ", asked for " +
                                    std::to_string(kvn_));
  const bool pseudo_random = (card_.i & scp03_i::kPseudoRandomChallenge) != 0;
  if (pseudo_random && !card_.sequence_counter)
    fail(Errc::InvalidLength, "a pseudo-random card challenge needs the sequence counter in the response");
  if (pseudo_random && options_.aid &&
      !equal_ct(card_.card_challenge,
                scp03_pseudo_random_card_challenge(keys_.enc, *card_.sequence_counter, *options_.aid, n_)))
    fail(Errc::CryptogramMismatch, "the card challenge is not the pseudo-random value the sequence counter gives");

  derive(host_challenge_, card_.card_challenge);
  if (!equal_ct(card_.card_cryptogram, scp03_card_cryptogram(sk_.mac, host_challenge_, card_.card_challenge, n_)))
    fail(Errc::CryptogramMismatch, "card cryptogram does not verify (wrong keys, or not the card it claims to be)");

  const Bytes cryptogram = scp03_host_cryptogram(sk_.mac, host_challenge_, card_.card_challenge, n_);
  const std::uint8_t cla = kClaGp | kClaSecureMessaging;
  chaining_ = compute_cmac(cla, kInsExternalAuthenticate, level.byte(), 0x00, cryptogram, false);
  level_ = level;
  state_ = State::AwaitingExternalAuthenticate;
  const CommandApdu wrapped(cla, kInsExternalAuthenticate, level.byte(), 0x00,
                            concat({cryptogram, ByteView(chaining_).subspan(0, n_)}));
  return wrapped.encode();
}

void Scp03Host::confirm_external_authenticate(const ResponseApdu& response) {
  if (state_ != State::AwaitingExternalAuthenticate)
    fail(Errc::SecurityNotSatisfied, "no EXTERNAL AUTHENTICATE is awaiting its response");
  if (response.sw != 0x9000)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE failed with SW " + sw_text(response.sw));
  state_ = State::Open;
}

Bytes Scp03Host::wrap(const CommandApdu& plain) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "wrap: the secure channel is not open");
  if ((plain.cla & kClaSecureMessaging) != 0)
    throw GpError(Errc::InvalidArgument, "SCP03: the plain command already has the secure messaging bit in CLA");
  // R-MAC does not chain in SCP03 (it uses the C-MAC of its command), so a response
  // left unwrapped does not break the session; only the latest one can be unwrapped.
  awaiting_response_ = true;
  if (!level_.c_mac()) return plain.encode();

  CommandApdu wrapped(plain.cla | kClaSecureMessaging, plain.ins, plain.p1, plain.p2, {}, plain.le);
  wrapped.force_extended = plain.force_extended;
  if (level_.c_decryption()) {
    ++enc_counter_;  // Amd D 6.2.6: incremented for every command, with or without data
    wrapped.data = plain.data.empty() ? Bytes{} : encrypt_command(plain.data);
  } else {
    wrapped.data = plain.data;
  }
  const Bytes body = wrapped.data;
  wrapped.data.resize(body.size() + n_);  // the wire length decides short or extended form
  chaining_ = compute_cmac(wrapped.cla, wrapped.ins, wrapped.p1, wrapped.p2, body, wrapped.is_extended());
  std::copy(chaining_.begin(), chaining_.begin() + static_cast<std::ptrdiff_t>(n_),
            wrapped.data.begin() + static_cast<std::ptrdiff_t>(body.size()));
  return wrapped.encode();
}

ResponseApdu Scp03Host::unwrap(const ResponseApdu& response) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "unwrap: the secure channel is not open");
  if (!awaiting_response_) fail(Errc::SecurityNotSatisfied, "unwrap: no wrapped command is awaiting a response");
  awaiting_response_ = false;
  if (!level_.r_mac()) return response;
  if (!sw_is_success(response.sw)) {
    // Amd D 6.2.5: an error status is returned alone, without R-MAC.
    if (!response.data.empty()) fail(Errc::ApduMalformed, "error status " + sw_text(response.sw) + " with response data");
    return response;
  }
  if (response.data.size() < n_)
    fail(Errc::ApduMalformed, "response of " + std::to_string(response.data.size()) + " bytes is shorter than its R-MAC");
  const ByteView all(response.data);
  const ByteView body = all.subspan(0, all.size() - n_), mac = all.subspan(all.size() - n_);
  if (!equal_ct(mac, compute_rmac(body, response.sw))) fail(Errc::MacMismatch, "R-MAC does not verify");
  if (!level_.r_encryption() || body.empty()) return ResponseApdu{to_bytes(body), response.sw};
  try {
    return ResponseApdu{decrypt_response(body), response.sw};
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
}

const KeyEncryptor& Scp03Host::key_encryptor() const {
  if (state_ != State::Open || !key_encryptor_)
    throw GpError(Errc::SecurityNotSatisfied, "SCP03: PUT KEY key encryption needs an open secure channel");
  return *key_encryptor_;
}

}  // namespace sekds::gp
