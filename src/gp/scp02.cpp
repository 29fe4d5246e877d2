// SCP02 key derivation, cryptograms, MACs and encryption shared by host and card.
#include "gp/scp02.h"

#include <cstdio>

#include "gp/error.h"

namespace sekds::gp {

void check_scp02_i(std::uint8_t i) {
  using namespace scp02_i;
  const std::uint8_t required = kThreeKeys | kExplicitInitiation;
  const std::uint8_t unsupported = kCMacOnUnmodifiedApdu | kIcvMacOverAid | 0x80;
  if ((i & required) != required || (i & unsupported) != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", i);
    throw GpError(Errc::Unsupported, std::string("SCP02 i='") + buf +
                                         "' is not supported (need 3 keys, explicit initiation, C-MAC on the "
                                         "modified APDU and ICV zero: i = 05, 15, 45, 55 or with 0x20)");
  }
}

namespace {
void check_des2(ByteView key, const char* what) {
  if (key.size() != 16)
    throw GpError(Errc::InvalidLength,
                  std::string(what) + " must be a 16-byte 2-key 3DES key, got " + std::to_string(key.size()) + " bytes");
}

Bytes cryptogram(ByteView s_enc, ByteView first, ByteView second, ByteView third) {
  check_des2(s_enc, "S-ENC");
  return des3_cbc_mac(s_enc, Bytes(8, 0), pad80(concat({first, second, third}), 8));
}

Bytes counter_bytes(std::uint16_t counter) {
  Bytes c;
  put_u16(c, counter);
  return c;
}
}  // namespace

SecureBytes scp02_session_key(ByteView static_key, std::uint16_t constant, std::uint16_t counter) {
  check_des2(static_key, "SCP02 static key");
  Bytes data;
  put_u16(data, constant);
  put_u16(data, counter);
  data.resize(16, 0x00);
  Bytes out = cbc_encrypt(Cipher::Des3, static_key, Bytes(8, 0), data);
  SecureBytes key = to_secure(out);
  secure_wipe(out.data(), out.size());
  return key;
}

Scp02SessionKeys scp02_session_keys(const StaticKeys& keys, std::uint16_t counter) {
  return {scp02_session_key(keys.enc, kScp02ConstEnc, counter), scp02_session_key(keys.mac, kScp02ConstCMac, counter),
          scp02_session_key(keys.mac, kScp02ConstRMac, counter), scp02_session_key(keys.dek, kScp02ConstDek, counter)};
}

Bytes scp02_card_cryptogram(ByteView s_enc, ByteView host_challenge, std::uint16_t counter, ByteView card_challenge) {
  detail::require_length(host_challenge, 8, "SCP02 host challenge");
  detail::require_length(card_challenge, 6, "SCP02 card challenge");
  return cryptogram(s_enc, host_challenge, counter_bytes(counter), card_challenge);
}

Bytes scp02_host_cryptogram(ByteView s_enc, ByteView host_challenge, std::uint16_t counter, ByteView card_challenge) {
  detail::require_length(host_challenge, 8, "SCP02 host challenge");
  detail::require_length(card_challenge, 6, "SCP02 card challenge");
  return cryptogram(s_enc, counter_bytes(counter), card_challenge, host_challenge);
}

Bytes scp02_pseudo_random_card_challenge(ByteView cmac_key, ByteView aid) {
  if (aid.size() < 5 || aid.size() > 16)
    throw GpError(Errc::InvalidLength, "AID must be 5 to 16 bytes, got " + std::to_string(aid.size()));
  check_des2(cmac_key, "C-MAC session key");
  Bytes mac = retail_mac(cmac_key, Bytes(8, 0), pad80(aid, 8));
  mac.resize(6);
  return mac;
}

Bytes Scp02KeyEncryptor::encrypt(ByteView key) const { return ecb_encrypt(Cipher::Des3, dek_, key); }

SecureBytes Scp02KeyEncryptor::decrypt(ByteView encrypted) const {
  return ecb_decrypt_secure(Cipher::Des3, dek_, encrypted);
}

namespace detail {

Scp02Channel::Scp02Channel(StaticKeys keys, std::uint8_t i) : keys_(std::move(keys)), i_(i) {
  check_scp02_i(i);
  check_des2(keys_.enc, "static ENC key");
  check_des2(keys_.mac, "static MAC key");
  check_des2(keys_.dek, "static DEK key");
}

void Scp02Channel::derive(std::uint16_t counter) {
  reset();
  sk_ = scp02_session_keys(keys_, counter);
  key_encryptor_.emplace(sk_.dek);
}

void Scp02Channel::reset() noexcept {
  level_ = SecurityLevel();
  last_cmac_.clear();
  rmac_icv_.clear();
  rmac_command_.clear();
}

Bytes Scp02Channel::compute_cmac(const CommandApdu& plain, bool extended) const {
  Bytes icv(8, 0x00);
  if (!last_cmac_.empty()) {
    icv = last_cmac_;
    // ICV encryption (i bit 0x10): single DES under the first half of the C-MAC key.
    if ((i_ & scp02_i::kIcvEncryption) != 0) icv = ecb_encrypt(Cipher::Des, ByteView(sk_.cmac).subspan(0, 8), icv);
  }
  Bytes input{static_cast<std::uint8_t>(plain.cla | kClaSecureMessaging), plain.ins, plain.p1, plain.p2};
  append_lc(input, plain.data.size() + 8, extended);
  input.insert(input.end(), plain.data.begin(), plain.data.end());
  return retail_mac(sk_.cmac, icv, pad80(input, 8));
}

void Scp02Channel::remember_command(const CommandApdu& plain) {
  rmac_command_ = {static_cast<std::uint8_t>(plain.cla & ~0x07), plain.ins, plain.p1, plain.p2};
  append_length(rmac_command_, plain.data.size());
  rmac_command_.insert(rmac_command_.end(), plain.data.begin(), plain.data.end());
}

Bytes Scp02Channel::compute_rmac(ByteView response_data, std::uint16_t sw) const {
  Bytes input(rmac_command_);
  append_length(input, response_data.size());
  input.insert(input.end(), response_data.begin(), response_data.end());
  put_u16(input, sw);
  const Bytes icv = rmac_icv_.empty() ? Bytes(8, 0x00) : rmac_icv_;
  return retail_mac(sk_.rmac, icv, pad80(input, 8));
}

Bytes Scp02Channel::encrypt_data(ByteView plain) const {
  return cbc_encrypt(Cipher::Des3, sk_.enc, Bytes(8, 0x00), pad80(plain, 8));
}

Bytes Scp02Channel::decrypt_data(ByteView encrypted) const {
  if (encrypted.empty() || encrypted.size() % 8 != 0)
    throw GpError(Errc::ApduMalformed,
                  "encrypted command data of " + std::to_string(encrypted.size()) + " bytes is not whole 3DES blocks");
  return strip_padding(cbc_decrypt(Cipher::Des3, sk_.enc, Bytes(8, 0x00), encrypted), 8);
}

}  // namespace detail
}  // namespace sekds::gp
