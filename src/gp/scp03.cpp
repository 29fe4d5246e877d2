// SCP03 KDF, session keys, cryptograms, MACs and encryption shared by host and card.
#include "gp/scp03.h"

#include <cstdio>

namespace sekds::gp {

namespace {
std::string hex_byte(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02X", b);
  return buf;
}

void check_aes_key(ByteView key, const char* what) {
  if (key.size() != 16 && key.size() != 24 && key.size() != 32)
    throw GpError(Errc::InvalidLength,
                  std::string(what) + " must be an AES-128/192/256 key, got " + std::to_string(key.size()) + " bytes");
}

void check_n(std::size_t len) {
  if (len != 8 && len != 16) throw GpError(Errc::InvalidArgument, "SCP03 cryptograms are 8 or 16 bytes");
}

Bytes truncated(const SecureBytes& s) { return Bytes(s.begin(), s.end()); }
}  // namespace

void check_scp03_i(std::uint8_t i) {
  using namespace scp03_i;
  const std::uint8_t known = kS16 | kPseudoRandomChallenge | kRMacSupport | kREncryptionSupport;
  if ((i & ~known) != 0)
    throw GpError(Errc::Unsupported, "SCP03 i='" + hex_byte(i) + "' has bits this implementation does not know");
  if ((i & kREncryptionSupport) != 0 && (i & kRMacSupport) == 0)
    throw GpError(Errc::Unsupported, "SCP03 i='" + hex_byte(i) + "' offers R-ENCRYPTION without R-MAC");
}

void check_scp03_level(std::uint8_t i, SecurityLevel level) {
  if (level.r_mac() && (i & scp03_i::kRMacSupport) == 0)
    throw GpError(Errc::Unsupported, "security level " + hex_byte(level.byte()) + " needs R-MAC, which SCP03 i='" +
                                         hex_byte(i) + "' does not offer");
  if (level.r_encryption() && (i & scp03_i::kREncryptionSupport) == 0)
    throw GpError(Errc::Unsupported, "security level " + hex_byte(level.byte()) + " needs R-ENCRYPTION, which SCP03 i='" +
                                         hex_byte(i) + "' does not offer");
}

SecureBytes kdf_counter_cmac(ByteView key, ByteView before_counter, ByteView after_counter, std::size_t out_len) {
  check_aes_key(key, "KDF key");
  if (out_len == 0 || out_len > 255 * 16) throw GpError(Errc::InvalidArgument, "KDF output length out of range");
  SecureBytes out;
  out.reserve(out_len + 16);
  Bytes input(before_counter.begin(), before_counter.end());
  const std::size_t counter_at = input.size();
  input.push_back(0);
  input.insert(input.end(), after_counter.begin(), after_counter.end());
  for (unsigned i = 1; out.size() < out_len; ++i) {
    input[counter_at] = static_cast<std::uint8_t>(i);
    SecureBytes block = aes_cmac_secure(key, input);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(out_len);
  return out;
}

SecureBytes scp03_kdf(ByteView key, std::uint8_t constant, ByteView context, std::size_t out_bits) {
  if (out_bits == 0 || out_bits % 8 != 0 || out_bits > 0xFFFF)
    throw GpError(Errc::InvalidArgument, "SCP03 KDF output must be a whole number of bytes");
  Bytes before(11, 0x00);
  before.push_back(constant);
  before.push_back(0x00);  // separation indicator
  put_u16(before, static_cast<std::uint16_t>(out_bits));
  return kdf_counter_cmac(key, before, context, out_bits / 8);
}

Scp03SessionKeys scp03_session_keys(const StaticKeys& keys, ByteView context) {
  check_aes_key(keys.enc, "static ENC key");
  check_aes_key(keys.mac, "static MAC key");
  return {scp03_kdf(keys.enc, kScp03ConstSEnc, context, keys.enc.size() * 8),
          scp03_kdf(keys.mac, kScp03ConstSMac, context, keys.mac.size() * 8),
          scp03_kdf(keys.mac, kScp03ConstSRMac, context, keys.mac.size() * 8)};
}

Bytes scp03_card_cryptogram(ByteView s_mac, ByteView host_challenge, ByteView card_challenge, std::size_t len) {
  check_n(len);
  return truncated(scp03_kdf(s_mac, kScp03ConstCardCryptogram, concat({host_challenge, card_challenge}), len * 8));
}

Bytes scp03_host_cryptogram(ByteView s_mac, ByteView host_challenge, ByteView card_challenge, std::size_t len) {
  check_n(len);
  return truncated(scp03_kdf(s_mac, kScp03ConstHostCryptogram, concat({host_challenge, card_challenge}), len * 8));
}

Bytes scp03_pseudo_random_card_challenge(ByteView static_enc, std::uint32_t counter, ByteView aid, std::size_t len) {
  check_n(len);
  if (counter > 0xFFFFFF) throw GpError(Errc::InvalidArgument, "SCP03 sequence counter is 3 bytes");
  if (aid.size() < 5 || aid.size() > 16)
    throw GpError(Errc::InvalidLength, "AID must be 5 to 16 bytes, got " + std::to_string(aid.size()));
  Bytes context{static_cast<std::uint8_t>(counter >> 16), static_cast<std::uint8_t>(counter >> 8),
                static_cast<std::uint8_t>(counter)};
  context.insert(context.end(), aid.begin(), aid.end());
  return truncated(scp03_kdf(static_enc, kScp03ConstCardChallenge, context, len * 8));
}

Bytes scp03_encryption_icv(ByteView s_enc, std::uint64_t counter, bool response) {
  Bytes block(16, 0x00);
  for (int b = 0; b < 8; ++b) block[15 - static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(counter >> (8 * b));
  if (response) block[0] = 0x80;
  return ecb_encrypt(Cipher::Aes, s_enc, block);
}

Bytes Scp03KeyEncryptor::encrypt(ByteView key) const { return cbc_encrypt(Cipher::Aes, dek_, Bytes(16, 0), key); }

SecureBytes Scp03KeyEncryptor::decrypt(ByteView encrypted) const {
  return cbc_decrypt_secure(Cipher::Aes, dek_, Bytes(16, 0), encrypted);
}

namespace detail {

Scp03Channel::Scp03Channel(StaticKeys keys) : keys_(std::move(keys)) {
  check_aes_key(keys_.enc, "static ENC key");
  check_aes_key(keys_.mac, "static MAC key");
  check_aes_key(keys_.dek, "static DEK key");
}

void Scp03Channel::reset() noexcept {
  level_ = SecurityLevel();
  chaining_.assign(16, 0x00);
  enc_counter_ = 0;
}

void Scp03Channel::derive(ByteView host_challenge, ByteView card_challenge) {
  reset();
  sk_ = scp03_session_keys(keys_, concat({host_challenge, card_challenge}));
  key_encryptor_.emplace(keys_.dek);
}

Bytes Scp03Channel::compute_cmac(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView body,
                                 bool extended) const {
  // Amd D 6.2.4: logical channel number zeroed, secure messaging bit set.
  Bytes input(chaining_);
  input.insert(input.end(), {static_cast<std::uint8_t>((cla & 0xF0) | kClaSecureMessaging), ins, p1, p2});
  append_lc(input, body.size() + n_, extended);
  input.insert(input.end(), body.begin(), body.end());
  return aes_cmac(sk_.mac, input);
}

Bytes Scp03Channel::compute_rmac(ByteView data, std::uint16_t sw) const {
  Bytes input(chaining_);
  input.insert(input.end(), data.begin(), data.end());
  put_u16(input, sw);
  Bytes mac = aes_cmac(sk_.rmac, input);
  mac.resize(n_);
  return mac;
}

Bytes Scp03Channel::encrypt_command(ByteView plain) const {
  return cbc_encrypt(Cipher::Aes, sk_.enc, scp03_encryption_icv(sk_.enc, enc_counter_, false), pad80(plain, 16));
}

Bytes Scp03Channel::decrypt_command(ByteView encrypted) const {
  if (encrypted.size() % 16 != 0)
    throw GpError(Errc::ApduMalformed,
                  "encrypted command data of " + std::to_string(encrypted.size()) + " bytes is not whole AES blocks");
  return strip_padding(cbc_decrypt(Cipher::Aes, sk_.enc, scp03_encryption_icv(sk_.enc, enc_counter_, false), encrypted),
                       16);
}

Bytes Scp03Channel::encrypt_response(ByteView plain) const {
  return cbc_encrypt(Cipher::Aes, sk_.enc, scp03_encryption_icv(sk_.enc, enc_counter_, true), pad80(plain, 16));
}

Bytes Scp03Channel::decrypt_response(ByteView encrypted) const {
  if (encrypted.size() % 16 != 0)
    throw GpError(Errc::ApduMalformed,
                  "encrypted response data of " + std::to_string(encrypted.size()) + " bytes is not whole AES blocks");
  return strip_padding(cbc_decrypt(Cipher::Aes, sk_.enc, scp03_encryption_icv(sk_.enc, enc_counter_, true), encrypted),
                       16);
}

}  // namespace detail
}  // namespace sekds::gp
