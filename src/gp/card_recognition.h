// Card Recognition Data, GET DATA '66' (GlobalPlatform Card Specification v2.3.1 §H.2):
//   '66' { '73' { '06' {globalPlatform 1},
//                 '60' { '06' {globalPlatform 2} + GP version bytes },       card management type and version
//                 '63' { '06' {globalPlatform 3} },                          card identification scheme
//                 '64' { '06' {globalPlatform 4} + SCP + i } ...,            one per secure channel protocol
//                 '65' {...} card configuration details, '66' {...} card / chip details,
//                 '67' {...} SD trust point certificate, '68' {...} SD certificate information } }
// {globalPlatform} is 1.2.840.114283 ('2A864886FC6B'). The bytes after {globalPlatform 2}
// and {globalPlatform 4} are read as raw bytes (version digits; SCP and i), as cards and
// tools do, not as OID arcs: '80 00' there is a value, not an OID error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/tlv.h"

namespace sekds::gp {

inline constexpr Tag kTagCardData = 0x66;
inline constexpr Tag kTagCardRecognitionData = 0x73;

struct ScpOption {
  std::uint8_t scp = 0;  // 0x02, 0x03 ...
  std::uint8_t i = 0;    // implementation option
  friend bool operator==(const ScpOption&, const ScpOption&) = default;
};

struct CardRecognitionData {
  Bytes gp_version;                       // '60': e.g. 02 01 01; empty when absent
  std::optional<Bytes> card_identification_scheme;  // '63': the OID's content bytes
  std::vector<ScpOption> scps;            // '64', in card order
  std::optional<Bytes> card_configuration_details;  // '65' value, raw
  std::optional<Bytes> card_chip_details;           // '66' value, raw
  std::optional<Bytes> trust_point_certificate;     // '67' value, raw
  std::optional<Bytes> sd_certificate_information;  // '68' value, raw
  std::vector<Tlv> other;                 // tags this code does not know, kept for encode()

  // "2.1.1"; empty when '60' is absent.
  std::string gp_version_string() const;
  // From GET DATA '66': the '66' object, or the bare '73' object.
  static CardRecognitionData parse(ByteView data);
  Bytes encode() const;  // the '66' object, fields in the order listed above
  friend bool operator==(const CardRecognitionData&, const CardRecognitionData&) = default;
};

// Dotted form of an OID's content bytes ("1.3.656.840.100.2.1.3").
// GpError(InvalidArgument) for an empty OID, a truncated or non-minimal arc, or an arc past 64 bits.
std::string oid_to_string(ByteView content);

}  // namespace sekds::gp
