#include "gp/bytes.h"

#include <openssl/crypto.h>

#include "gp/error.h"

namespace sekds::gp {

void secure_wipe(void* p, std::size_t n) noexcept {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <class Out>
Out parse_hex(std::string_view hex, std::string_view what) {
  Out out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if (c == ' ' || c == ':') {
      if (hi >= 0) throw GpError(Errc::InvalidHex, std::string(what) + ": separator inside a byte", i);
      continue;
    }
    int v = nibble(c);
    if (v < 0) throw GpError(Errc::InvalidHex, std::string(what) + ": not a hex digit '" + std::string(1, c) + "'", i);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw GpError(Errc::InvalidHex, std::string(what) + ": odd number of hex digits");
  return out;
}
}  // namespace

Bytes from_hex(std::string_view hex, std::string_view what) { return parse_hex<Bytes>(hex, what); }

SecureBytes secure_from_hex(std::string_view hex, std::string_view what) {
  return parse_hex<SecureBytes>(hex, what);
}

Bytes concat(std::initializer_list<ByteView> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  Bytes out;
  out.reserve(n);
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void xor_into(std::span<std::uint8_t> a, ByteView b) {
  if (a.size() != b.size()) throw GpError(Errc::InvalidLength, "xor of buffers of different lengths");
  for (std::size_t i = 0; i < a.size(); ++i) a[i] ^= b[i];
}

bool equal_ct(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint32_t read_be(ByteView v) {
  if (v.size() > 4) throw GpError(Errc::InvalidLength, "big-endian integer longer than 4 bytes");
  std::uint32_t r = 0;
  for (std::uint8_t b : v) r = (r << 8) | b;
  return r;
}

}  // namespace sekds::gp
