// SCP02 host side (the TSM): INITIALIZE UPDATE, EXTERNAL AUTHENTICATE, command wrapping.
#include <cstdio>

#include "gp/error.h"
#include "gp/scp02.h"

namespace sekds::gp {

namespace {
std::string sw_text(std::uint16_t sw) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04X", sw);
  return buf;
}
}  // namespace

Scp02Host::Scp02Host(StaticKeys keys, Scp02HostOptions options)
    : Scp02Channel(std::move(keys), options.i), options_(std::move(options)) {
  if (options_.aid && (options_.aid->size() < 5 || options_.aid->size() > 16))
    throw GpError(Errc::InvalidLength, "AID must be 5 to 16 bytes, got " + std::to_string(options_.aid->size()));
}

void Scp02Host::fail(Errc code, const std::string& what) {
  close();
  throw GpError(code, "SCP02: " + what);
}

void Scp02Host::close() noexcept {
  state_ = State::Closed;
  awaiting_response_ = false;
  reset();
  sk_ = {};
  key_encryptor_.reset();
}

CommandApdu Scp02Host::initialize_update(std::uint8_t kvn) { return initialize_update(kvn, random_bytes(8)); }

CommandApdu Scp02Host::initialize_update(std::uint8_t kvn, ByteView host_challenge) {
  detail::require_length(host_challenge, 8, "SCP02 host challenge");
  close();
  state_ = State::AwaitingInitializeUpdate;
  kvn_ = kvn;
  host_challenge_ = to_bytes(host_challenge);
  return InitializeUpdateCommand{kvn, 0x00, host_challenge_}.to_apdu();
}

Bytes Scp02Host::external_authenticate(const ResponseApdu& iu_response, SecurityLevel level) {
  if (state_ != State::AwaitingInitializeUpdate)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE needs a preceding INITIALIZE UPDATE");
  if (iu_response.sw != 0x9000) fail(Errc::SecurityNotSatisfied, "INITIALIZE UPDATE failed with SW " + sw_text(iu_response.sw));
  if (level.r_encryption()) fail(Errc::Unsupported, "R-ENCRYPTION does not exist in SCP02");
  try {
    card_ = InitializeUpdateResponse::parse(iu_response.data);
  } catch (const GpError& e) {
    fail(e.code(), e.what());
  }
  if (card_.scp != Scp::Scp02) fail(Errc::Unsupported, std::string("the card answered for ") + scp_name(card_.scp));
  if (kvn_ != 0 && card_.kvn != kvn_)
    fail(Errc::InvalidArgument, "the card answered with key version " + std::to_string(card_.kvn) + ", asked for " +
                                    std::to_string(kvn_));
  const auto counter = static_cast<std::uint16_t>(*card_.sequence_counter);
  derive(counter);
  if ((i_ & scp02_i::kPseudoRandomChallenge) != 0 && options_.aid &&
      !equal_ct(card_.card_challenge, scp02_pseudo_random_card_challenge(sk_.cmac, *options_.aid)))
    fail(Errc::CryptogramMismatch, "the card challenge is not the pseudo-random value i=" + std::to_string(i_) + " requires");
  if (!equal_ct(card_.card_cryptogram, scp02_card_cryptogram(sk_.enc, host_challenge_, counter, card_.card_challenge)))
    fail(Errc::CryptogramMismatch, "card cryptogram does not verify (wrong keys, or not the card it claims to be)");

  const CommandApdu plain(kClaGp, kInsExternalAuthenticate, level.byte(), 0x00,
                          scp02_host_cryptogram(sk_.enc, host_challenge_, counter, card_.card_challenge));
  const Bytes mac = compute_cmac(plain, false);
  chain_cmac(mac);
  rmac_icv_ = mac;
  level_ = level;
  state_ = State::AwaitingExternalAuthenticate;
  CommandApdu wrapped(plain.cla | kClaSecureMessaging, plain.ins, plain.p1, plain.p2, concat({plain.data, mac}));
  return wrapped.encode();
}

void Scp02Host::confirm_external_authenticate(const ResponseApdu& response) {
  if (state_ != State::AwaitingExternalAuthenticate)
    fail(Errc::SecurityNotSatisfied, "no EXTERNAL AUTHENTICATE is awaiting its response");
  if (response.sw != 0x9000)
    fail(Errc::SecurityNotSatisfied, "EXTERNAL AUTHENTICATE failed with SW " + sw_text(response.sw));
  state_ = State::Open;
}

Bytes Scp02Host::wrap(const CommandApdu& plain) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "wrap: the secure channel is not open");
  if ((plain.cla & kClaSecureMessaging) != 0)
    throw GpError(Errc::InvalidArgument, "SCP02: the plain command already has the secure messaging bit in CLA");
  if (level_.r_mac() && awaiting_response_)
    fail(Errc::SecurityNotSatisfied, "the previous response was not unwrapped (R-MAC chaining would break)");
  awaiting_response_ = true;
  if (level_.r_mac()) remember_command(plain);
  if (!level_.c_mac()) return plain.encode();

  CommandApdu wrapped(plain.cla | kClaSecureMessaging, plain.ins, plain.p1, plain.p2, {}, plain.le);
  wrapped.force_extended = plain.force_extended;
  const bool encrypt = level_.c_decryption() && !plain.data.empty();
  // The wire length decides short or extended form; the MAC input uses the same form.
  wrapped.data.resize((encrypt ? (plain.data.size() / 8 + 1) * 8 : plain.data.size()) + 8);
  const Bytes mac = compute_cmac(plain, wrapped.is_extended());
  chain_cmac(mac);
  const Bytes body = encrypt ? encrypt_data(plain.data) : plain.data;
  wrapped.data = concat({body, mac});
  return wrapped.encode();
}

ResponseApdu Scp02Host::unwrap(const ResponseApdu& response) {
  if (state_ != State::Open) fail(Errc::SecurityNotSatisfied, "unwrap: the secure channel is not open");
  if (!awaiting_response_) fail(Errc::SecurityNotSatisfied, "unwrap: no wrapped command is awaiting a response");
  awaiting_response_ = false;
  if (!level_.r_mac()) return response;
  if (!sw_is_success(response.sw)) {
    // An error status carries neither data nor R-MAC.
    if (!response.data.empty()) fail(Errc::ApduMalformed, "error status " + sw_text(response.sw) + " with response data");
    return response;
  }
  if (response.data.size() < 8)
    fail(Errc::ApduMalformed, "response of " + std::to_string(response.data.size()) + " bytes is shorter than its R-MAC");
  const ByteView all(response.data);
  const ByteView body = all.subspan(0, all.size() - 8), mac = all.subspan(all.size() - 8);
  if (!equal_ct(mac, compute_rmac(body, response.sw))) fail(Errc::MacMismatch, "R-MAC does not verify");
  chain_rmac(mac);
  return ResponseApdu{to_bytes(body), response.sw};
}

const KeyEncryptor& Scp02Host::key_encryptor() const {
  if (state_ != State::Open || !key_encryptor_)
    throw GpError(Errc::SecurityNotSatisfied, "SCP02: PUT KEY key encryption needs an open secure channel");
  return *key_encryptor_;
}

}  // namespace sekds::gp
