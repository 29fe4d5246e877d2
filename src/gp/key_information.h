// Key Information Template 'E0' (GET DATA 'E0'): one 'C0' Key Information Data object per
// key of the Security Domain (GlobalPlatform Card Specification v2.3.1 §11.3.3.1).
//
// Two formats per 'C0':
// - basic: KID, KVN, then (key type, 1-byte length) per key component;
// - extended (first key type byte 'FF'): KID, KVN, then per component 'FF' + key type and a
//   2-byte length, then Key Usage (length + bytes) and Key Access (length + bytes).
//   Some cards write the components after the first without the 'FF' prefix (a bare key
//   type '80'-'FE'); that form is accepted because a Key Usage length is never >= '80',
//   and encode() writes the canonical 'FF' form.
// An empty 'C0' (a fresh Security Domain without keys) is skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/key_type.h"
#include "gp/tlv.h"

namespace sekds::gp {

inline constexpr Tag kTagKeyInformationTemplate = 0xE0;
inline constexpr Tag kTagKeyInformationData = 0xC0;

// Key type codes (GP v2.3.1 Table 11-16, Amendment E for ECC).
inline constexpr std::uint8_t kKeyTypeDes = 0x80;         // DES, mode implicitly known (3DES keys on GP cards)
inline constexpr std::uint8_t kKeyTypeDes3Reserved = 0x81;  // "reserved (Triple DES)", seen on old cards
inline constexpr std::uint8_t kKeyTypeDes3Cbc = 0x82;
inline constexpr std::uint8_t kKeyTypeDesEcb = 0x83;
inline constexpr std::uint8_t kKeyTypeDesCbc = 0x84;
inline constexpr std::uint8_t kKeyTypeTlsPsk = 0x85;
inline constexpr std::uint8_t kKeyTypeAes = 0x88;
inline constexpr std::uint8_t kKeyTypeRsaPublicE = 0xA0;
inline constexpr std::uint8_t kKeyTypeRsaPublicN = 0xA1;
inline constexpr std::uint8_t kKeyTypeExtended = 0xFF;
// "DES", "AES", "RSA public N", ... or "private use" / "RFU".
const char* key_type_code_name(std::uint8_t code) noexcept;

// Key Access (extended format).
inline constexpr std::uint8_t kKeyAccessAny = 0x00;                 // the SD and its applications
inline constexpr std::uint8_t kKeyAccessSecurityDomainOnly = 0x01;
inline constexpr std::uint8_t kKeyAccessApplicationsOnly = 0x02;
inline constexpr std::uint8_t kKeyAccessNotAvailable = 0xFF;

struct KeyComponent {
  std::uint8_t type = 0;
  std::uint16_t length = 0;  // bytes
  friend bool operator==(const KeyComponent&, const KeyComponent&) = default;
};

// One 'C0' object.
struct KeyInformationData {
  std::uint8_t key_id = 0;
  std::uint8_t kvn = 0;
  std::vector<KeyComponent> components;  // at least one
  bool extended = false;
  Bytes usage;   // extended only: Key Usage qualifier
  Bytes access;  // extended only: Key Access

  std::uint8_t type() const noexcept { return components.empty() ? 0 : components.front().type; }
  std::uint16_t length() const noexcept { return components.empty() ? 0 : components.front().length; }
  // The gp::KeyType of a one-component DES or AES key of a length sekds handles.
  std::optional<KeyType> symmetric_type() const noexcept;

  // The value of a 'C0'; `offset` (of that value in the whole response) goes into errors.
  static KeyInformationData parse(ByteView c0_value, std::size_t offset = 0);
  Bytes encode_value() const;
  Bytes encode() const;  // 'C0' L value
  friend bool operator==(const KeyInformationData&, const KeyInformationData&) = default;
};

// Why a key set version is not one usable static key set.
enum class KeySetProblem {
  None,
  Absent,          // no key with that KVN
  NotSymmetric,    // a key that is not a one-component DES or AES key
  BadLength,       // DES or AES with a length sekds does not handle (single DES, AES-20 ...)
  MixedTypes,      // keys of different types or lengths
  DuplicateKeyId,  // the same KID twice
};
const char* key_set_problem_name(KeySetProblem p) noexcept;

struct KeySetInfo {
  std::uint8_t kvn = 0;
  KeyType key_type = KeyType::Des2;
  std::vector<std::uint8_t> key_ids;  // ascending
  // KIDs 1, 2 and 3 (ENC, MAC, DEK) are present.
  bool has_enc_mac_dek() const noexcept;
};

struct KeySetCheck {
  KeySetProblem problem = KeySetProblem::None;
  std::string detail;             // empty when ok
  std::optional<KeySetInfo> info;  // when ok
  bool ok() const noexcept { return problem == KeySetProblem::None; }
};

struct KeyInformation {
  std::vector<KeyInformationData> keys;  // in card order

  // GET DATA 'E0': the 'E0' template, or its 'C0' objects without it.
  static KeyInformation parse(ByteView data);
  Bytes encode() const;  // the 'E0' template

  std::vector<std::uint8_t> key_set_versions() const;  // ascending, unique
  std::vector<const KeyInformationData*> keys_of(std::uint8_t kvn) const;
  KeySetCheck check_key_set(std::uint8_t kvn) const;
  // The key set, or GpError(InvalidArgument) saying what is wrong with it.
  KeySetInfo key_set(std::uint8_t kvn) const;
  // The KVNs that pass check_key_set(), ascending.
  std::vector<std::uint8_t> usable_key_set_versions() const;
  friend bool operator==(const KeyInformation&, const KeyInformation&) = default;
};

}  // namespace sekds::gp
