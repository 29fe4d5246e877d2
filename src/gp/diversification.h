// Static-key diversification: from an issuer master key and a card's 10-byte key
// diversification data (KDD, GET DATA 'CF') to the card's K-ENC, K-MAC, K-DEK.
//
// The HSM layer derives inside the token with the same derivation data this file
// builds (des_derivation_data, KdfLayout::input); the software functions here are the
// reference the tests and the lab `derive` command use.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gp/bytes.h"

namespace sekds::gp {

inline constexpr std::size_t kKddLength = 10;

// Key identifiers 1/2/3 of a GP key set; also the KDF3 derivation constants.
enum class KeyRole : std::uint8_t { Enc = 1, Mac = 2, Dek = 3 };
inline constexpr std::array<KeyRole, 3> kKeyRoles{KeyRole::Enc, KeyRole::Mac, KeyRole::Dek};
const char* key_role_name(KeyRole r) noexcept;  // "ENC", "MAC", "DEK"

enum class DiversificationMethod {
  None,      // card keys are the master keys
  Visa2,     // VISA2 (2-key 3DES)
  Emv,       // EMV CPS 1.1 (2-key 3DES)
  Kdf3,      // GlobalPlatformPro's AES scheme: one CMAC block per 16 output bytes
  Scp03Kdf,  // issuer-defined layout on the SCP03 KDF (SP 800-108 counter mode, AES-CMAC)
};
// "none", "visa2", "emv", "kdf3", "scp03kdf"
const char* method_name(DiversificationMethod m) noexcept;
std::optional<DiversificationMethod> parse_method(std::string_view s) noexcept;  // case-insensitive
bool method_is_des(DiversificationMethod m) noexcept;  // Visa2, Emv

// Layout of one PRF input of a CMAC counter-mode KDF. Issuers differ in label,
// constants and context, so the layout is data: a list of parts, written as text
// like "i|000000|k|00|kdd" (KDF3) or "0000000000000000000000|k|00|L|i|kdd" (SCP03).
//   i   1-byte block counter, from 1     k   1-byte constant of the key role
//   L   2-byte output length in bits     kdd the 10-byte KDD      hex: literal bytes
struct KdfLayout {
  enum class Field : std::uint8_t { Counter, Constant, LengthBits, Kdd, Literal };
  struct Part {
    Field field;
    Bytes literal;  // only for Literal
  };
  std::vector<Part> parts;
  std::array<std::uint8_t, 3> constants{0x01, 0x02, 0x03};  // ENC, MAC, DEK

  static KdfLayout kdf3();
  static KdfLayout scp03_standard();
  // Throws GpError(InvalidArgument) naming the bad part.
  static KdfLayout parse(std::string_view spec, std::string_view constants = "01,02,03");
  std::string spec() const;            // the text form parse() reads
  std::string constants_spec() const;  // "01,02,03"

  // The PRF input for block `counter` of a key of `out_bits`.
  Bytes input(ByteView kdd, KeyRole role, std::uint8_t counter, std::uint16_t out_bits) const;
  std::size_t input_length() const noexcept;  // with a 10-byte KDD
};

struct DiversificationScheme {
  DiversificationMethod method = DiversificationMethod::None;
  KdfLayout layout;  // for Kdf3 and Scp03Kdf
  // The method with its default layout (KDF3 layout, or the standard SCP03 one).
  static DiversificationScheme of(DiversificationMethod m);
};

// VISA2 / EMV CPS 1.1: the 16 bytes whose 3DES-ECB encryption under the master is the key.
Bytes des_derivation_data(DiversificationMethod m, ByteView kdd, KeyRole role);

// One card key. Checks the KDD length and that the master fits the method.
SecureBytes diversify_key(const DiversificationScheme& s, ByteView master, ByteView kdd, KeyRole role);

struct StaticKeys {
  SecureBytes enc, mac, dek;
  const SecureBytes& of(KeyRole r) const;
};
// All three keys from one shared master key.
StaticKeys diversify(const DiversificationScheme& s, ByteView master, ByteView kdd);

}  // namespace sekds::gp
