// GlobalPlatform data objects a TSM reads from the Issuer Security Domain with GET DATA
// (DESIGN §1 step 2), each with parse and encode (the virtual card encodes them):
//   'CF' Kdd, 'C1' SequenceCounter, '5F50' SdManagerUrl, '42' IIN, '45' CIN here;
//   'E0' KeyInformation, '66' CardRecognitionData and '9F7F' Cplc in their own headers,
//   included below so this header is "all the GET DATA objects".
// Every parse() takes the GET DATA response data with or without its outer tag.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gp/bytes.h"
#include "gp/card_recognition.h"
#include "gp/cplc.h"
#include "gp/key_information.h"
#include "gp/tlv.h"

namespace sekds::gp {

inline constexpr Tag kTagKdd = 0xCF;
inline constexpr Tag kTagSequenceCounter = 0xC1;
inline constexpr Tag kTagSdManagerUrl = 0x5F50;
inline constexpr Tag kTagIin = 0x42;
inline constexpr Tag kTagCin = 0x45;

// Key Diversification Data: exactly 10 bytes (the first 10 bytes of the INITIALIZE UPDATE
// response on most cards; the input of VISA2 / EMV CPS / KDF3 diversification).
class Kdd {
 public:
  static constexpr std::size_t kLength = 10;
  explicit Kdd(ByteView ten_bytes);  // GpError(InvalidLength) unless 10 bytes
  // 'CF 0A' + 10 bytes, or the 10 bytes alone.
  static Kdd parse(ByteView data);
  ByteView bytes() const noexcept { return {b_.data(), b_.size()}; }
  std::string hex() const { return to_hex(bytes()); }
  Bytes encode() const;  // 'CF 0A' + 10 bytes
  friend bool operator==(const Kdd&, const Kdd&) = default;

 private:
  std::array<std::uint8_t, kLength> b_{};
};

// Secure channel sequence counter: 2 bytes for SCP02, 3 bytes for SCP03.
class SequenceCounter {
 public:
  SequenceCounter(std::uint32_t value, std::size_t width);  // width 2 or 3, value must fit
  // 'C1 02' + 2 bytes, 'C1 03' + 3 bytes, or the 2 / 3 bytes alone.
  static SequenceCounter parse(ByteView data);
  std::uint32_t value() const noexcept { return value_; }
  std::size_t width() const noexcept { return width_; }
  bool is_scp02() const noexcept { return width_ == 2; }
  Bytes value_bytes() const;  // big-endian, `width` bytes
  Bytes encode() const;       // 'C1' L value
  friend bool operator==(const SequenceCounter&, const SequenceCounter&) = default;

 private:
  std::uint32_t value_ = 0;
  std::size_t width_ = 2;
};

// '5F50': the Security Domain Manager URL (GP) / ISO 7816-6 uniform resource locator; in
// sekds the address of the TTP. Validated: printable ASCII without spaces or the characters
// RFC 3986 never allows ("<>\^`{|}), scheme http or https, a host, an optional port
// 1-65535, no user information (no '@' before the host) and no fragment.
class SdManagerUrl {
 public:
  static constexpr std::size_t kMinLength = 8;    // "http://h"
  static constexpr std::size_t kMaxLength = 252;  // '5F50 81 FC' + URL fills one short response

  // GpError(InvalidArgument) naming what is wrong.
  static SdManagerUrl from_string(std::string_view url);
  // '5F50' L url, or the URL bytes alone.
  static SdManagerUrl parse(ByteView data);

  const std::string& str() const noexcept { return url_; }
  const std::string& scheme() const noexcept { return scheme_; }  // lower case
  const std::string& host() const noexcept { return host_; }      // "[::1]" for IPv6
  std::optional<std::uint16_t> port() const noexcept { return port_; }
  std::uint16_t effective_port() const noexcept { return port_ ? *port_ : (is_https() ? 443 : 80); }
  const std::string& path() const noexcept { return path_; }  // "/" when empty; with the query
  bool is_https() const noexcept { return scheme_ == "https"; }
  Bytes encode() const;  // '5F50' L url
  friend bool operator==(const SdManagerUrl& a, const SdManagerUrl& b) { return a.url_ == b.url_; }

 private:
  std::string url_, scheme_, host_, path_;
  std::optional<std::uint16_t> port_;
};

// '42' Issuer Identification Number and '45' Card Image Number: opaque byte strings
// (1 to 127 bytes) that a key server logs and may match, never interprets.
template <Tag T>
struct IdentificationNumber {
  static constexpr Tag kTag = T;
  static constexpr std::size_t kMaxLength = 127;
  Bytes value;

  // The tagged object, or the bare value (a bare value that happens to start with the tag
  // byte and parse as one object is read as tagged: the form cards send wins).
  static IdentificationNumber parse(ByteView data);
  Bytes encode() const;
  friend bool operator==(const IdentificationNumber&, const IdentificationNumber&) = default;
};
using IssuerIdentificationNumber = IdentificationNumber<kTagIin>;
using CardImageNumber = IdentificationNumber<kTagCin>;

extern template struct IdentificationNumber<kTagIin>;
extern template struct IdentificationNumber<kTagCin>;

}  // namespace sekds::gp
