// ISO/IEC 7816-4 command and response APDUs, short and extended length.
#pragma once

#include <cstdint>
#include <optional>

#include "gp/bytes.h"

namespace sekds::gp {

struct CommandApdu {
  std::uint8_t cla = 0, ins = 0, p1 = 0, p2 = 0;
  Bytes data;
  // Expected response length: absent, or 1..256 (short, 256 encoded as 00) /
  // 1..65536 (extended, 65536 encoded as 0000).
  std::optional<std::uint32_t> le;
  bool force_extended = false;

  CommandApdu() = default;
  CommandApdu(std::uint8_t cla_, std::uint8_t ins_, std::uint8_t p1_, std::uint8_t p2_, Bytes data_ = {},
              std::optional<std::uint32_t> le_ = std::nullopt)
      : cla(cla_), ins(ins_), p1(p1_), p2(p2_), data(std::move(data_)), le(le_) {}

  // Extended when data > 255 bytes, Le > 256, or forced.
  bool is_extended() const noexcept;
  Bytes encode() const;
  // Cases 1, 2S, 3S, 4S, 2E, 3E, 4E. Throws GpError(ApduMalformed) with the offset.
  static CommandApdu parse(ByteView raw);
  // True when the extended form was used in `raw` (parse() sets force_extended).
};

struct ResponseApdu {
  Bytes data;
  std::uint16_t sw = 0x9000;

  std::uint8_t sw1() const noexcept { return static_cast<std::uint8_t>(sw >> 8); }
  std::uint8_t sw2() const noexcept { return static_cast<std::uint8_t>(sw); }
  bool ok() const noexcept { return sw == 0x9000; }
  Bytes encode() const;
  // At least the two status bytes. Throws GpError(ApduMalformed).
  static ResponseApdu parse(ByteView raw);
};

}  // namespace sekds::gp
