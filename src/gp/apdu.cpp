#include "gp/apdu.h"

#include <string>

#include "gp/error.h"

namespace sekds::gp {

bool CommandApdu::is_extended() const noexcept {
  return force_extended || data.size() > 255 || (le && *le > 256);
}

Bytes CommandApdu::encode() const {
  if (data.size() > 65535) throw GpError(Errc::ApduMalformed, "command data longer than 65535 bytes");
  if (le && (*le == 0 || *le > 65536)) throw GpError(Errc::ApduMalformed, "Le must be 1..65536");
  Bytes out{cla, ins, p1, p2};
  const bool ext = is_extended();
  if (!data.empty()) {
    if (ext) {
      out.push_back(0x00);
      put_u16(out, static_cast<std::uint16_t>(data.size()));
    } else {
      out.push_back(static_cast<std::uint8_t>(data.size()));
    }
    out.insert(out.end(), data.begin(), data.end());
  }
  if (le) {
    if (ext) {
      if (data.empty()) out.push_back(0x00);  // extended case 2: 00 Le1 Le2
      put_u16(out, static_cast<std::uint16_t>(*le == 65536 ? 0 : *le));
    } else {
      out.push_back(static_cast<std::uint8_t>(*le == 256 ? 0 : *le));
    }
  }
  return out;
}

CommandApdu CommandApdu::parse(ByteView raw) {
  if (raw.size() < 4) throw GpError(Errc::ApduMalformed, "command APDU shorter than its 4-byte header", raw.size());
  CommandApdu c(raw[0], raw[1], raw[2], raw[3]);
  const std::size_t body = raw.size() - 4;
  if (body == 0) return c;  // case 1
  const std::uint8_t b0 = raw[4];
  if (body == 1) {  // case 2S
    c.le = b0 == 0 ? 256u : b0;
    return c;
  }
  if (b0 != 0) {  // short cases 3S / 4S
    const std::size_t lc = b0;
    if (body == 1 + lc) {
      c.data.assign(raw.begin() + 5, raw.end());
      return c;
    }
    if (body == 2 + lc) {
      c.data.assign(raw.begin() + 5, raw.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
      std::uint8_t le = raw[5 + lc];
      c.le = le == 0 ? 256u : le;
      return c;
    }
    throw GpError(Errc::ApduMalformed,
                  "Lc " + std::to_string(lc) + " does not match the " + std::to_string(body - 1) + " bytes that follow", 4);
  }
  // b0 == 0 with more than one byte: extended length
  c.force_extended = true;
  if (body == 3) {  // case 2E
    std::uint32_t le = (static_cast<std::uint32_t>(raw[5]) << 8) | raw[6];
    c.le = le == 0 ? 65536u : le;
    return c;
  }
  if (body < 3) throw GpError(Errc::ApduMalformed, "truncated extended length", 5);
  const std::size_t lc = (static_cast<std::size_t>(raw[5]) << 8) | raw[6];
  if (lc == 0) throw GpError(Errc::ApduMalformed, "extended Lc of zero", 5);
  if (body == 3 + lc) {  // case 3E
    c.data.assign(raw.begin() + 7, raw.end());
    return c;
  }
  if (body == 5 + lc) {  // case 4E
    c.data.assign(raw.begin() + 7, raw.begin() + 7 + static_cast<std::ptrdiff_t>(lc));
    std::uint32_t le = (static_cast<std::uint32_t>(raw[7 + lc]) << 8) | raw[8 + lc];
    c.le = le == 0 ? 65536u : le;
    return c;
  }
  throw GpError(Errc::ApduMalformed,
                "extended Lc " + std::to_string(lc) + " does not match the " + std::to_string(body - 3) + " bytes that follow", 5);
}

Bytes ResponseApdu::encode() const {
  Bytes out(data);
  put_u16(out, sw);
  return out;
}

ResponseApdu ResponseApdu::parse(ByteView raw) {
  if (raw.size() < 2) throw GpError(Errc::ApduMalformed, "response APDU shorter than its status word", raw.size());
  ResponseApdu r;
  r.data.assign(raw.begin(), raw.end() - 2);
  r.sw = static_cast<std::uint16_t>((raw[raw.size() - 2] << 8) | raw[raw.size() - 1]);
  return r;
}

}  // namespace sekds::gp
