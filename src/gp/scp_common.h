// What SCP02 and SCP03 share: the security level byte, the command and response
// formats of INITIALIZE UPDATE, and the two sides of a secure channel as interfaces,
// so the TSM (host) and the virtual card drive either protocol from one APDU loop.
//
// Host loop:  cmd = s.initialize_update(kvn) -> card -> s.external_authenticate(resp, level)
//             -> card -> s.confirm_external_authenticate(resp); then wrap()/unwrap() per command.
// Card loop:  on INS 50: step = s.initialize_update(cmd); on INS 82: step = s.external_authenticate(cmd);
//             then for every command: plain = s.unwrap(cmd) ... s.wrap(plain_response).
// Any failed check closes the session and throws GpError naming what failed.
// make_host_session / make_card_session choose the protocol at run time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "gp/apdu.h"
#include "gp/status_word.h"
#include "gp/bytes.h"
#include "gp/crypto.h"
#include "gp/diversification.h"

namespace sekds::gp {

inline constexpr std::uint8_t kClaGp = 0x80;
inline constexpr std::uint8_t kClaSecureMessaging = 0x04;  // CLA bit 3: GP proprietary secure messaging
inline constexpr std::uint8_t kInsInitializeUpdate = 0x50;
inline constexpr std::uint8_t kInsExternalAuthenticate = 0x82;
inline constexpr std::uint8_t kInsPutKey = 0xD8;

enum class Scp : std::uint8_t { Scp02 = 0x02, Scp03 = 0x03 };
const char* scp_name(Scp s) noexcept;  // "SCP02", "SCP03"

// The security level of a session: P1 of EXTERNAL AUTHENTICATE (GP 2.3.1 Table 11-19,
// Amd D Table 7-5). Only the combinations GlobalPlatform defines can be constructed.
class SecurityLevel {
 public:
  static constexpr std::uint8_t kCMac = 0x01;
  static constexpr std::uint8_t kCDecryption = 0x02;
  static constexpr std::uint8_t kRMac = 0x10;
  static constexpr std::uint8_t kREncryption = 0x20;

  // 00: authentication only, no secure messaging afterwards.
  constexpr SecurityLevel() noexcept = default;
  // Throws GpError(InvalidArgument) unless b is one of 00, 01, 03, 11, 13, 33.
  explicit SecurityLevel(std::uint8_t b);
  static bool valid(std::uint8_t b) noexcept;

  std::uint8_t byte() const noexcept { return b_; }
  bool c_mac() const noexcept { return (b_ & kCMac) != 0; }
  bool c_decryption() const noexcept { return (b_ & kCDecryption) != 0; }
  bool r_mac() const noexcept { return (b_ & kRMac) != 0; }
  bool r_encryption() const noexcept { return (b_ & kREncryption) != 0; }
  // "C-MAC+C-DECRYPTION+R-MAC", or "NONE".
  std::string to_string() const;

  friend bool operator==(SecurityLevel, SecurityLevel) = default;

 private:
  std::uint8_t b_ = 0;
};

// INITIALIZE UPDATE as the card receives it.
struct InitializeUpdateCommand {
  std::uint8_t kvn = 0;     // P1: key version number, 00 = first available
  std::uint8_t key_id = 0;  // P2
  Bytes host_challenge;     // 8 bytes (16 in SCP03 S16 mode)

  CommandApdu to_apdu() const;
  // Checks CLA/INS and the challenge length (8 or 16). Throws GpError(ApduMalformed / InvalidLength).
  static InitializeUpdateCommand parse(const CommandApdu& cmd);
};

// The card's answer to INITIALIZE UPDATE, both protocols:
//   SCP02: KDD(10) KVN SCP(02) seq(2) card_challenge(6) card_cryptogram(8)             = 28 bytes
//   SCP03: KDD(10) KVN SCP(03) i card_challenge(8|16) card_cryptogram(8|16) [seq(3)]   = 29/32 (S8), 45/48 (S16)
struct InitializeUpdateResponse {
  Bytes kdd;
  std::uint8_t kvn = 0;
  Scp scp = Scp::Scp02;
  std::uint8_t i = 0;  // SCP03 only (SCP02 does not send it)
  std::optional<std::uint32_t> sequence_counter;
  Bytes card_challenge;
  Bytes card_cryptogram;

  Bytes encode() const;
  // Parses the response data (without SW). Throws GpError(InvalidLength / Unsupported) naming what is wrong.
  static InitializeUpdateResponse parse(ByteView data);
};

// Encrypts and decrypts key values for PUT KEY with the key the open channel's protocol
// prescribes (SCP02: session DEK, 3DES-ECB; SCP03: static DEK, AES-CBC with zero IV).
class KeyEncryptor {
 public:
  virtual ~KeyEncryptor() = default;
  virtual Cipher cipher() const noexcept = 0;
  // `key` must be a whole number of blocks of cipher().
  virtual Bytes encrypt(ByteView key) const = 0;
  virtual SecureBytes decrypt(ByteView encrypted) const = 0;
};

// The answer of a card-side handshake step. When next_sequence_counter is set the card
// must persist it before it sends `response` (the counter is the card's replay defence).
struct CardStep {
  ResponseApdu response;
  std::optional<std::uint32_t> next_sequence_counter;
};

// Host side (TSM) of one secure channel session.
class HostSession {
 public:
  virtual ~HostSession() = default;
  virtual Scp scp() const noexcept = 0;
  virtual SecurityLevel security_level() const noexcept = 0;
  virtual bool is_open() const noexcept = 0;

  // INITIALIZE UPDATE with a fresh random host challenge.
  virtual CommandApdu initialize_update(std::uint8_t kvn) = 0;
  // Verifies the card's answer (SW, SCP, KVN, card cryptogram, pseudo-random challenge)
  // and returns the wire bytes of EXTERNAL AUTHENTICATE for `level`.
  virtual Bytes external_authenticate(const ResponseApdu& iu_response, SecurityLevel level) = 0;
  // The card's answer to EXTERNAL AUTHENTICATE; 9000 opens the channel.
  virtual void confirm_external_authenticate(const ResponseApdu& response) = 0;

  // Protects a plain command for transmission. Throws GpError(SecurityNotSatisfied) when not open.
  virtual Bytes wrap(const CommandApdu& plain) = 0;
  // Checks and removes the protection of the response to the last wrapped command.
  virtual ResponseApdu unwrap(const ResponseApdu& response) = 0;
  // Same from wire bytes; a malformed response closes the channel too.
  ResponseApdu unwrap(ByteView response);

  // For PUT KEY while the channel is open.
  virtual const KeyEncryptor& key_encryptor() const = 0;
  virtual void close() noexcept = 0;
};

// Card side (virtual secure element) of one secure channel session.
class CardSession {
 public:
  virtual ~CardSession() = default;
  virtual Scp scp() const noexcept = 0;
  virtual SecurityLevel security_level() const noexcept = 0;
  virtual bool is_open() const noexcept = 0;

  // Starts a new session (aborting any previous one).
  virtual CardStep initialize_update(const CommandApdu& cmd) = 0;
  // Verifies the host cryptogram and the C-MAC of the (wrapped) EXTERNAL AUTHENTICATE.
  virtual CardStep external_authenticate(const CommandApdu& cmd) = 0;

  // Verifies and removes the protection of a command received in the open session.
  virtual CommandApdu unwrap(const CommandApdu& wrapped) = 0;
  // Same from wire bytes; a malformed (e.g. truncated) command closes the session too.
  CommandApdu unwrap(ByteView wrapped);
  // Protects the response to the last unwrapped command.
  virtual ResponseApdu wrap(const ResponseApdu& plain) = 0;

  virtual const KeyEncryptor& key_encryptor() const = 0;
  virtual void close() noexcept = 0;
};

// One entry point for either protocol, for callers that learn the SCP at run time (the TSM
// from the TTP's answer, the card from its key set).
struct HostSessionOptions {
  std::uint8_t scp02_i = 0x55;  // SCP02 does not announce i; SCP03 does
  bool s16 = false;             // SCP03 S16 mode
  std::optional<Bytes> aid;     // checks a pseudo-random card challenge when set
};
std::unique_ptr<HostSession> make_host_session(Scp scp, StaticKeys keys, const HostSessionOptions& options = {});

struct CardSessionOptions {
  std::uint8_t i = 0x55;              // the card's i parameter (e.g. 15/55 for SCP02, 00/10/70 for SCP03)
  std::uint8_t kvn = 0x01;            // key version number of `keys`
  Bytes kdd;                          // 10 bytes
  std::uint32_t sequence_counter = 0; // 2 bytes for SCP02, 3 for SCP03
  Bytes aid;                          // the selected application (pseudo-random challenges)
};
std::unique_ptr<CardSession> make_card_session(Scp scp, StaticKeys keys, const CardSessionOptions& options);

// Sends APDU bytes to the card and returns the response bytes (transport of the caller).
using Transmit = std::function<Bytes(ByteView)>;

// The whole host handshake over `transmit`. Throws GpError on any failure.
void open_secure_channel(HostSession& session, const Transmit& transmit, std::uint8_t kvn, SecurityLevel level);
// wrap -> transmit -> unwrap.
ResponseApdu transmit_secure(HostSession& session, const Transmit& transmit, const CommandApdu& plain);

namespace detail {
// Lc as it appears in a header: one byte, or 00 hi lo when `extended`.
void append_lc(Bytes& out, std::size_t lc, bool extended);
// Length of response or command data inside SCP02 R-MAC input: one byte, or 00 hi lo past 255.
void append_length(Bytes& out, std::size_t n);
void require_length(ByteView v, std::size_t n, const char* what);
// Removes ISO 9797-1 method-2 padding that must lie within the last `block` bytes.
// Throws GpError(PaddingInvalid).
Bytes strip_padding(ByteView padded, std::size_t block);
}  // namespace detail

}  // namespace sekds::gp
