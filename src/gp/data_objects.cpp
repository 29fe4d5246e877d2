#include "gp/data_objects.h"

#include <algorithm>
#include <cctype>

#include "gp/error.h"

namespace sekds::gp {

namespace {

// A fixed-length object: the bare value when the size is one of `raw_sizes`, otherwise it
// must be the tagged object.
Bytes fixed_value(Tag tag, ByteView data, std::initializer_list<std::size_t> raw_sizes, const char* what) {
  for (std::size_t n : raw_sizes)
    if (data.size() == n) return to_bytes(data);
  const Bytes t = encode_tag(tag);
  if (data.size() < t.size() || !std::equal(t.begin(), t.end(), data.begin()))
    throw GpError(Errc::InvalidLength, std::string(what) + ": " + std::to_string(data.size()) +
                                           " bytes that are neither the bare value nor a '" + tag_hex(tag) + "' object");
  return strip_outer_tag(tag, data);
}

[[noreturn]] void bad_url(const std::string& what, std::optional<std::size_t> at = std::nullopt) {
  throw GpError(Errc::InvalidArgument, "URL ('5F50'): " + what, at);
}

bool is_host_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-'; }

}  // namespace

// ---- Kdd ----

Kdd::Kdd(ByteView v) {
  if (v.size() != kLength) throw GpError(Errc::InvalidLength, "KDD must be 10 bytes, got " + std::to_string(v.size()));
  std::copy(v.begin(), v.end(), b_.begin());
}

Kdd Kdd::parse(ByteView data) { return Kdd(fixed_value(kTagKdd, data, {kLength}, "KDD ('CF')")); }

Bytes Kdd::encode() const { return encode_tlv(kTagKdd, bytes()); }

// ---- SequenceCounter ----

SequenceCounter::SequenceCounter(std::uint32_t value, std::size_t width) : value_(value), width_(width) {
  if (width != 2 && width != 3)
    throw GpError(Errc::InvalidLength, "sequence counter must be 2 (SCP02) or 3 (SCP03) bytes, got " + std::to_string(width));
  if (value >> (8 * width) != 0)
    throw GpError(Errc::InvalidArgument, "sequence counter " + std::to_string(value) + " does not fit " + std::to_string(width) + " bytes");
}

SequenceCounter SequenceCounter::parse(ByteView data) {
  Bytes v = fixed_value(kTagSequenceCounter, data, {2, 3}, "sequence counter ('C1')");
  if (v.size() != 2 && v.size() != 3)
    throw GpError(Errc::InvalidLength, "sequence counter must be 2 (SCP02) or 3 (SCP03) bytes, got " + std::to_string(v.size()));
  return SequenceCounter(read_be(v), v.size());
}

Bytes SequenceCounter::value_bytes() const {
  Bytes out;
  for (std::size_t i = width_; i-- > 0;) out.push_back(static_cast<std::uint8_t>(value_ >> (8 * i)));
  return out;
}

Bytes SequenceCounter::encode() const { return encode_tlv(kTagSequenceCounter, value_bytes()); }

// ---- SdManagerUrl ----

SdManagerUrl SdManagerUrl::from_string(std::string_view s) {
  if (s.size() < kMinLength || s.size() > kMaxLength)
    bad_url(std::to_string(s.size()) + " characters; " + std::to_string(kMinLength) + " to " + std::to_string(kMaxLength) +
            " allowed");
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x21 || c > 0x7E)
      bad_url("byte '" + to_hex(ByteView(&c, 1)) + "' is not printable ASCII (spaces are not allowed either)", i);
    if (std::string_view("\"<>\\^`{|}").find(static_cast<char>(c)) != std::string_view::npos)
      bad_url(std::string("character '") + static_cast<char>(c) + "' is not allowed in a URL", i);
  }
  SdManagerUrl u;
  u.url_ = std::string(s);
  const std::size_t sep = s.find("://");
  if (sep == std::string_view::npos) bad_url("no scheme (expected https://...)");
  u.scheme_ = std::string(s.substr(0, sep));
  std::transform(u.scheme_.begin(), u.scheme_.end(), u.scheme_.begin(), [](unsigned char c) { return std::tolower(c); });
  if (u.scheme_ != "https" && u.scheme_ != "http") bad_url("scheme must be https or http, got '" + u.scheme_ + "'", 0);
  if (const auto h = s.find('#'); h != std::string_view::npos) bad_url("a fragment ('#') is not allowed", h);

  const std::size_t a0 = sep + 3;
  const std::size_t a1 = std::min(s.find('/', a0), s.find('?', a0));
  const std::string_view auth = s.substr(a0, a1 == std::string_view::npos ? std::string_view::npos : a1 - a0);
  if (const auto at = auth.find('@'); at != std::string_view::npos) bad_url("user information ('@') is not allowed", a0 + at);
  std::string_view host = auth, port;
  if (!auth.empty() && auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos) bad_url("IPv6 host without ']'", a0);
    host = auth.substr(0, close + 1);
    for (char c : host.substr(1, host.size() - 2))
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') bad_url("bad IPv6 host " + std::string(host), a0);
    if (host.size() < 3) bad_url("empty IPv6 host", a0);
    const std::string_view after = auth.substr(close + 1);
    if (!after.empty() && after.front() != ':') bad_url("unexpected text after the IPv6 host", a0 + close + 1);
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) bad_url("empty port", a0 + close + 1);
  } else {
    const auto colon = auth.rfind(':');
    if (colon != std::string_view::npos) {
      host = auth.substr(0, colon);
      port = auth.substr(colon + 1);
      if (port.empty()) bad_url("empty port", a0 + colon);
    }
    if (host.empty()) bad_url("no host", a0);
    for (std::size_t i = 0; i < host.size(); ++i)
      if (!is_host_char(host[i])) bad_url(std::string("character '") + host[i] + "' is not allowed in a host name", a0 + i);
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; }))
      bad_url("port '" + std::string(port) + "' is not a number");
    const unsigned long p = std::stoul(std::string(port));
    if (p < 1 || p > 65535) bad_url("port " + std::string(port) + " is outside 1-65535");
    u.port_ = static_cast<std::uint16_t>(p);
  }
  u.host_ = std::string(host);
  if (a1 == std::string_view::npos) {
    u.path_ = "/";
  } else {
    u.path_ = std::string(s.substr(a1));
    if (u.path_.front() == '?') u.path_.insert(u.path_.begin(), '/');
  }
  return u;
}

SdManagerUrl SdManagerUrl::parse(ByteView data) {
  const Bytes v = strip_outer_tag(kTagSdManagerUrl, data);
  return from_string(std::string(v.begin(), v.end()));
}

Bytes SdManagerUrl::encode() const {
  return encode_tlv(kTagSdManagerUrl, ByteView(reinterpret_cast<const std::uint8_t*>(url_.data()), url_.size()));
}

// ---- IIN / CIN ----

template <Tag T>
IdentificationNumber<T> IdentificationNumber<T>::parse(ByteView data) {
  IdentificationNumber n{strip_outer_tag(T, data, true)};
  if (n.value.empty() || n.value.size() > kMaxLength)
    throw GpError(Errc::InvalidLength, std::string(T == kTagIin ? "IIN ('42')" : "CIN ('45')") + " must be 1 to " +
                                           std::to_string(kMaxLength) + " bytes, got " + std::to_string(n.value.size()));
  return n;
}

template <Tag T>
Bytes IdentificationNumber<T>::encode() const {
  if (value.empty() || value.size() > kMaxLength)
    throw GpError(Errc::InvalidLength, "identification number must be 1 to " + std::to_string(kMaxLength) + " bytes");
  return encode_tlv(T, value);
}

template struct IdentificationNumber<kTagIin>;
template struct IdentificationNumber<kTagCin>;

}  // namespace sekds::gp
