// SCP03 (GlobalPlatform Card Specification 2.3 Amendment D): AES-128/192/256 static keys,
// session keys from the host and card challenges through the SP 800-108 counter-mode KDF
// with AES-CMAC, MAC chaining, command and response encryption with counter-derived ICVs.
// Implemented: i = 00, 10, 30, 70 and their S16 variants (i | 01).
#pragma once

#include <cstdint>
#include <optional>

#include "gp/diversification.h"
#include "gp/error.h"
#include "gp/scp_common.h"

namespace sekds::gp {

// Bits of the SCP03 "i" parameter (Amd D Table 5-1).
namespace scp03_i {
inline constexpr std::uint8_t kS16 = 0x01;                    // 16-byte challenges, cryptograms and MACs
inline constexpr std::uint8_t kPseudoRandomChallenge = 0x10;  // card challenge from the sequence counter
inline constexpr std::uint8_t kRMacSupport = 0x20;
inline constexpr std::uint8_t kREncryptionSupport = 0x40;
}  // namespace scp03_i

// Throws GpError(Unsupported) for RFU bits, or R-ENCRYPTION support without R-MAC support.
void check_scp03_i(std::uint8_t i);
// Throws GpError(Unsupported) when `level` needs R-MAC / R-ENCRYPTION that `i` does not offer.
void check_scp03_level(std::uint8_t i, SecurityLevel level);

// Derivation constants (Amd D Table 4-1).
inline constexpr std::uint8_t kScp03ConstCardCryptogram = 0x00;
inline constexpr std::uint8_t kScp03ConstHostCryptogram = 0x01;
inline constexpr std::uint8_t kScp03ConstCardChallenge = 0x02;
inline constexpr std::uint8_t kScp03ConstSEnc = 0x04;
inline constexpr std::uint8_t kScp03ConstSMac = 0x06;
inline constexpr std::uint8_t kScp03ConstSRMac = 0x07;

// NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF: the output is
// PRF(key, before | i | after) for i = 1, 2, ... (one-byte counter), truncated to out_len.
SecureBytes kdf_counter_cmac(ByteView key, ByteView before_counter, ByteView after_counter, std::size_t out_len);
// The Amd D layout: before = 11 zero bytes | constant | 00 | L (2 bytes, bits); after = context.
SecureBytes scp03_kdf(ByteView key, std::uint8_t constant, ByteView context, std::size_t out_bits);

struct Scp03SessionKeys {
  SecureBytes enc;   // S-ENC
  SecureBytes mac;   // S-MAC
  SecureBytes rmac;  // S-RMAC
};
// Context is host challenge | card challenge (any bytes are accepted, for known-answer tests).
Scp03SessionKeys scp03_session_keys(const StaticKeys& keys, ByteView context);

// Cryptograms are `len` bytes (8 in S8 mode, 16 in S16) under S-MAC.
Bytes scp03_card_cryptogram(ByteView s_mac, ByteView host_challenge, ByteView card_challenge, std::size_t len);
Bytes scp03_host_cryptogram(ByteView s_mac, ByteView host_challenge, ByteView card_challenge, std::size_t len);
// Pseudo-random card challenge: KDF(static ENC, 02, counter (3 bytes) | AID).
Bytes scp03_pseudo_random_card_challenge(ByteView static_enc, std::uint32_t counter, ByteView aid, std::size_t len);
// ICV of C-DECRYPTION (AES(S-ENC, counter)) and of R-ENCRYPTION (AES(S-ENC, 80 | counter)).
Bytes scp03_encryption_icv(ByteView s_enc, std::uint64_t counter, bool response);

// PUT KEY key encryption: AES-CBC under the static DEK with a zero IV.
class Scp03KeyEncryptor final : public KeyEncryptor {
 public:
  explicit Scp03KeyEncryptor(SecureBytes static_dek) : dek_(std::move(static_dek)) {}
  Cipher cipher() const noexcept override { return Cipher::Aes; }
  Bytes encrypt(ByteView key) const override;
  SecureBytes decrypt(ByteView encrypted) const override;

 private:
  SecureBytes dek_;
};

namespace detail {
// The protocol state both sides share: session keys, MAC chaining value, encryption counter.
class Scp03Channel {
 protected:
  explicit Scp03Channel(StaticKeys keys);

  void derive(ByteView host_challenge, ByteView card_challenge);  // new session; resets chaining
  // Full 16-byte CMAC over chaining | CLA' INS P1 P2 Lc | body, Lc counting the MAC of `mac_len_` bytes.
  Bytes compute_cmac(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView body,
                     bool extended) const;
  Bytes compute_rmac(ByteView data, std::uint16_t sw) const;  // first mac_len_ bytes
  Bytes encrypt_command(ByteView plain) const;                // under the current counter
  Bytes decrypt_command(ByteView encrypted) const;
  Bytes encrypt_response(ByteView plain) const;
  Bytes decrypt_response(ByteView encrypted) const;
  void reset() noexcept;

  StaticKeys keys_;
  std::size_t n_ = 8;  // S8 or S16: challenge, cryptogram and MAC length
  Scp03SessionKeys sk_;
  std::optional<Scp03KeyEncryptor> key_encryptor_;
  SecurityLevel level_;
  Bytes chaining_;                // MAC chaining value: zeros, then the last full C-MAC
  std::uint64_t enc_counter_ = 0;  // incremented before each command once C-DECRYPTION is on
};
}  // namespace detail

struct Scp03HostOptions {
  bool s16 = false;  // send a 16-byte host challenge and expect S16 from the card
  // AID of the application the channel is opened with (usually the ISD). When set and i
  // says pseudo-random, the card challenge is checked against it.
  std::optional<Bytes> aid;
};

class Scp03Host final : public HostSession, private detail::Scp03Channel {
 public:
  // Static keys: 16, 24 or 32 bytes each. Throws GpError(InvalidLength).
  explicit Scp03Host(StaticKeys keys, Scp03HostOptions options = {});

  Scp scp() const noexcept override { return Scp::Scp03; }
  SecurityLevel security_level() const noexcept override { return level_; }
  bool is_open() const noexcept override { return state_ == State::Open; }

  CommandApdu initialize_update(std::uint8_t kvn) override;
  // Same with a given host challenge (8 or 16 bytes as the mode says), for known-answer traces.
  CommandApdu initialize_update(std::uint8_t kvn, ByteView host_challenge);
  Bytes external_authenticate(const ResponseApdu& iu_response, SecurityLevel level) override;
  void confirm_external_authenticate(const ResponseApdu& response) override;

  Bytes wrap(const CommandApdu& plain) override;
  using HostSession::unwrap;
  ResponseApdu unwrap(const ResponseApdu& response) override;

  const KeyEncryptor& key_encryptor() const override;
  void close() noexcept override;

  const InitializeUpdateResponse& card_response() const noexcept { return card_; }
  const Scp03SessionKeys& session_keys() const noexcept { return sk_; }

 private:
  enum class State { Idle, AwaitingInitializeUpdate, AwaitingExternalAuthenticate, Open, Closed };
  [[noreturn]] void fail(Errc code, const std::string& what);

  Scp03HostOptions options_;
  State state_ = State::Idle;
  std::uint8_t kvn_ = 0;
  Bytes host_challenge_;
  InitializeUpdateResponse card_;
  bool awaiting_response_ = false;
};

struct Scp03CardOptions {
  std::uint8_t i = 0x70;
  std::uint8_t kvn = 0x30;           // the key set these static keys belong to
  Bytes kdd;                         // 10 bytes, returned in INITIALIZE UPDATE
  std::uint32_t sequence_counter = 0;  // 3 bytes; used when i says pseudo-random
  Bytes aid;                         // the selected application: input of the pseudo-random challenge
  // Known-answer tests only: use this card challenge instead of a random one (i without 0x10).
  std::optional<Bytes> fixed_card_challenge;
};

class Scp03Card final : public CardSession, private detail::Scp03Channel {
 public:
  explicit Scp03Card(StaticKeys keys, Scp03CardOptions options);

  Scp scp() const noexcept override { return Scp::Scp03; }
  SecurityLevel security_level() const noexcept override { return level_; }
  bool is_open() const noexcept override { return state_ == State::Open; }

  // With a pseudo-random challenge the counter advances here (next_sequence_counter is
  // set), so that no card challenge is ever given twice.
  CardStep initialize_update(const CommandApdu& cmd) override;
  CardStep external_authenticate(const CommandApdu& cmd) override;
  using CardSession::unwrap;
  CommandApdu unwrap(const CommandApdu& wrapped) override;
  ResponseApdu wrap(const ResponseApdu& plain) override;

  const KeyEncryptor& key_encryptor() const override;
  void close() noexcept override;

  std::uint32_t sequence_counter() const noexcept { return options_.sequence_counter; }
  const Scp03SessionKeys& session_keys() const noexcept { return sk_; }

 private:
  enum class State { Idle, AwaitingExternalAuthenticate, Open, Closed };
  [[noreturn]] void fail(Errc code, const std::string& what);
  void check_replay(const CommandApdu& wrapped);

  Scp03CardOptions options_;
  State state_ = State::Idle;
  Bytes host_challenge_;
  Bytes card_challenge_;
  Bytes last_wrapped_;
  bool response_due_ = false;
};

}  // namespace sekds::gp
