// SCP02 (GlobalPlatform Card Specification 2.3.1 Appendix E): 2-key 3DES static keys
// ENC/MAC/DEK, a 2-byte sequence counter, session keys derived from the counter.
// Implemented: i = 05, 15, 45, 55 (and the same with the R-MAC bit 0x20): three keys,
// explicit initiation, C-MAC on the modified APDU, ICV zero, optional ICV encryption
// (0x10), optional pseudo-random card challenge (0x40).
#pragma once

#include <cstdint>
#include <optional>

#include "gp/diversification.h"
#include "gp/error.h"
#include "gp/scp_common.h"

namespace sekds::gp {

// Bits of the SCP02 "i" parameter (GP 2.3.1 Table E-1).
namespace scp02_i {
inline constexpr std::uint8_t kThreeKeys = 0x01;
inline constexpr std::uint8_t kCMacOnUnmodifiedApdu = 0x02;
inline constexpr std::uint8_t kExplicitInitiation = 0x04;
inline constexpr std::uint8_t kIcvMacOverAid = 0x08;
inline constexpr std::uint8_t kIcvEncryption = 0x10;
inline constexpr std::uint8_t kRMacSupport = 0x20;
inline constexpr std::uint8_t kPseudoRandomChallenge = 0x40;
}  // namespace scp02_i

// Throws GpError(Unsupported) for an i this implementation does not speak (see above).
void check_scp02_i(std::uint8_t i);

// Derivation constants (GP 2.3.1 E.4.1).
inline constexpr std::uint16_t kScp02ConstCMac = 0x0101;
inline constexpr std::uint16_t kScp02ConstRMac = 0x0102;
inline constexpr std::uint16_t kScp02ConstDek = 0x0181;
inline constexpr std::uint16_t kScp02ConstEnc = 0x0182;

struct Scp02SessionKeys {
  SecureBytes enc;   // S-ENC: cryptograms, C-DECRYPTION
  SecureBytes cmac;  // C-MAC
  SecureBytes rmac;  // R-MAC
  SecureBytes dek;   // session DEK: PUT KEY key encryption
};

// 3DES-CBC (ICV zero) of constant | counter | 12 zero bytes under a 16-byte static key.
SecureBytes scp02_session_key(ByteView static_key, std::uint16_t constant, std::uint16_t counter);
Scp02SessionKeys scp02_session_keys(const StaticKeys& keys, std::uint16_t counter);

// Full 3DES MAC (ICV zero, method-2 padding) under S-ENC.
Bytes scp02_card_cryptogram(ByteView s_enc, ByteView host_challenge, std::uint16_t counter, ByteView card_challenge);
Bytes scp02_host_cryptogram(ByteView s_enc, ByteView host_challenge, std::uint16_t counter, ByteView card_challenge);
// i=55 card challenge: the six leftmost bytes of the retail MAC (ICV zero) of the padded
// AID of the selected application under the C-MAC session key.
Bytes scp02_pseudo_random_card_challenge(ByteView cmac_key, ByteView aid);

// PUT KEY key encryption: 3DES-ECB under the session DEK.
class Scp02KeyEncryptor final : public KeyEncryptor {
 public:
  explicit Scp02KeyEncryptor(SecureBytes session_dek) : dek_(std::move(session_dek)) {}
  Cipher cipher() const noexcept override { return Cipher::Des3; }
  Bytes encrypt(ByteView key) const override;
  SecureBytes decrypt(ByteView encrypted) const override;

 private:
  SecureBytes dek_;
};

namespace detail {
// The protocol state both sides share: session keys, C-MAC and R-MAC chaining.
class Scp02Channel {
 protected:
  Scp02Channel(StaticKeys keys, std::uint8_t i);

  void derive(std::uint16_t counter);  // session keys for a new session; resets chaining
  // C-MAC over the modified header (CLA|04, Lc+8) and the plain data; ICV per i.
  Bytes compute_cmac(const CommandApdu& plain, bool extended) const;
  void chain_cmac(ByteView mac) { last_cmac_.assign(mac.begin(), mac.end()); }
  // R-MAC over the plain command and the response (GP 2.3.1 E.4.5); chains the R-MAC ICV.
  Bytes compute_rmac(ByteView response_data, std::uint16_t sw) const;
  void chain_rmac(ByteView mac) { rmac_icv_.assign(mac.begin(), mac.end()); }
  void remember_command(const CommandApdu& plain);
  Bytes encrypt_data(ByteView plain) const;
  Bytes decrypt_data(ByteView encrypted) const;
  void reset() noexcept;

  StaticKeys keys_;
  std::uint8_t i_;
  Scp02SessionKeys sk_;
  std::optional<Scp02KeyEncryptor> key_encryptor_;
  SecurityLevel level_;
  Bytes last_cmac_;       // empty before EXTERNAL AUTHENTICATE (ICV zero)
  Bytes rmac_icv_;        // C-MAC of EXTERNAL AUTHENTICATE, then the previous R-MAC
  Bytes rmac_command_;    // plain command part of the next R-MAC input
};
}  // namespace detail

struct Scp02HostOptions {
  std::uint8_t i = 0x55;
  // AID of the application the channel is opened with (usually the ISD). When set and i
  // says pseudo-random, the card challenge is checked against it.
  std::optional<Bytes> aid;
};

class Scp02Host final : public HostSession, private detail::Scp02Channel {
 public:
  // Static keys: 16 bytes each (2-key 3DES). Throws GpError(InvalidLength / Unsupported).
  explicit Scp02Host(StaticKeys keys, Scp02HostOptions options = {});

  Scp scp() const noexcept override { return Scp::Scp02; }
  SecurityLevel security_level() const noexcept override { return level_; }
  bool is_open() const noexcept override { return state_ == State::Open; }

  CommandApdu initialize_update(std::uint8_t kvn) override;
  // Same with a given host challenge (8 bytes), for known-answer traces.
  CommandApdu initialize_update(std::uint8_t kvn, ByteView host_challenge);
  Bytes external_authenticate(const ResponseApdu& iu_response, SecurityLevel level) override;
  void confirm_external_authenticate(const ResponseApdu& response) override;

  Bytes wrap(const CommandApdu& plain) override;
  using HostSession::unwrap;
  ResponseApdu unwrap(const ResponseApdu& response) override;

  const KeyEncryptor& key_encryptor() const override;
  void close() noexcept override;

  // What the card said in INITIALIZE UPDATE (valid after external_authenticate).
  const InitializeUpdateResponse& card_response() const noexcept { return card_; }
  const Scp02SessionKeys& session_keys() const noexcept { return sk_; }

 private:
  enum class State { Idle, AwaitingInitializeUpdate, AwaitingExternalAuthenticate, Open, Closed };
  [[noreturn]] void fail(Errc code, const std::string& what);

  Scp02HostOptions options_;
  State state_ = State::Idle;
  std::uint8_t kvn_ = 0;
  Bytes host_challenge_;
  InitializeUpdateResponse card_;
  bool awaiting_response_ = false;
};

struct Scp02CardOptions {
  std::uint8_t i = 0x55;
  std::uint8_t kvn = 0x01;       // the key set these static keys belong to
  Bytes kdd;                     // 10 bytes, returned in INITIALIZE UPDATE
  std::uint16_t sequence_counter = 0;
  Bytes aid;                     // the selected application: input of the i=55 challenge
  // Known-answer tests only: use this card challenge instead of a random one (i without 0x40).
  std::optional<Bytes> fixed_card_challenge;
};

class Scp02Card final : public CardSession, private detail::Scp02Channel {
 public:
  explicit Scp02Card(StaticKeys keys, Scp02CardOptions options);

  Scp scp() const noexcept override { return Scp::Scp02; }
  SecurityLevel security_level() const noexcept override { return level_; }
  bool is_open() const noexcept override { return state_ == State::Open; }

  CardStep initialize_update(const CommandApdu& cmd) override;
  CardStep external_authenticate(const CommandApdu& cmd) override;
  using CardSession::unwrap;
  CommandApdu unwrap(const CommandApdu& wrapped) override;
  ResponseApdu wrap(const ResponseApdu& plain) override;

  const KeyEncryptor& key_encryptor() const override;
  void close() noexcept override;

  std::uint16_t sequence_counter() const noexcept { return options_.sequence_counter; }
  const Scp02SessionKeys& session_keys() const noexcept { return sk_; }

 private:
  enum class State { Idle, AwaitingExternalAuthenticate, Open, Closed };
  [[noreturn]] void fail(Errc code, const std::string& what);
  void check_replay(const CommandApdu& wrapped);

  Scp02CardOptions options_;
  State state_ = State::Idle;
  Bytes host_challenge_;
  Bytes card_challenge_;
  Bytes last_wrapped_;  // wire form of the last accepted command: a repeat is a replay
  bool response_due_ = false;
};

}  // namespace sekds::gp
