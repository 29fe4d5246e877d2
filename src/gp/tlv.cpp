#include "gp/tlv.h"

#include <algorithm>

#include "gp/error.h"

namespace sekds::gp {

std::size_t tag_size(Tag t) noexcept {
  const auto b = [t](int i) { return static_cast<std::uint8_t>(t >> (8 * i)); };
  const auto is_first = [](std::uint8_t b0, bool multi) {
    if (b0 == 0x00 || b0 == 0xFF) return false;  // ISO 7816-4: never a first tag byte
    return multi == ((b0 & 0x1F) == 0x1F);
  };
  if (t == 0) return 0;
  if (t <= 0xFF) return is_first(b(0), false) ? 1 : 0;
  if (t <= 0xFFFF) return is_first(b(1), true) && b(0) < 0x80 ? 2 : 0;
  if (t <= 0xFFFFFF)
    return is_first(b(2), true) && b(1) > 0x80 && b(0) < 0x80 ? 3 : 0;
  return 0;
}

bool tag_is_valid(Tag t) noexcept { return tag_size(t) != 0; }

bool tag_is_constructed(Tag t) noexcept {
  std::size_t n = tag_size(t);
  if (n == 0) n = t > 0xFFFF ? 3 : t > 0xFF ? 2 : 1;
  return ((t >> (8 * (n - 1))) & 0x20) != 0;
}

std::string tag_hex(Tag t) {
  Bytes b;
  std::size_t n = t > 0xFFFFFF ? 4 : t > 0xFFFF ? 3 : t > 0xFF ? 2 : 1;
  for (std::size_t i = n; i-- > 0;) b.push_back(static_cast<std::uint8_t>(t >> (8 * i)));
  return to_hex(b);
}

namespace {

std::string quoted(Tag t) { return "'" + tag_hex(t) + "'"; }

// Where an object that does not fit is reported: past the end of everything is
// truncation; past the end of the parent is an impossible length.
[[noreturn]] void overrun(Tag parent, const std::string& what, std::size_t offset) {
  if (parent == 0) throw GpError(Errc::TlvTruncated, what + " runs past the end of the data", offset);
  throw GpError(Errc::TlvBadLength, what + " runs past the end of its parent " + quoted(parent), offset);
}

// Header at all[pos], which must lie in [pos, end). `parent` is 0 at the top level.
TlvHeader read_header_at(ByteView all, std::size_t pos, std::size_t end, Tag parent, const TlvParseOptions& opt) {
  std::size_t p = pos;
  const std::uint8_t b0 = all[p++];
  if (b0 == 0x00 || b0 == 0xFF)
    throw GpError(Errc::TlvBadTag,
                  "'" + to_hex(ByteView(&b0, 1)) + "' is not a valid first tag byte" +
                      (opt.skip_padding ? "" : " (padding is not allowed here)"),
                  pos);
  Tag tag = b0;
  if ((b0 & 0x1F) == 0x1F) {
    for (std::size_t n = 2;; ++n) {
      if (p >= end) overrun(parent, "tag starting " + quoted(b0), pos);
      const std::uint8_t b = all[p++];
      if (n == 2 && b == 0x80)
        throw GpError(Errc::TlvBadTag, "tag starting " + tag_hex((tag << 8) | b) + " is not minimal (leading zero bits)", pos);
      tag = (tag << 8) | b;
      if ((b & 0x80) == 0) break;
      if (n == kMaxTagBytes) throw GpError(Errc::TlvBadTag, "tag longer than 3 bytes", pos);
    }
  }
  if (p >= end) overrun(parent, "length of tag " + quoted(tag), p);
  const std::size_t lpos = p;
  const std::uint8_t l0 = all[p++];
  std::size_t len = l0;
  if (l0 == 0x80) throw GpError(Errc::TlvBadLength, "indefinite length '80' of tag " + quoted(tag) + " is not allowed", lpos);
  if (l0 > 0x80) {
    const std::size_t nb = l0 & 0x7F;
    if (nb > 3)
      throw GpError(Errc::TlvBadLength,
                    "length field '" + to_hex(ByteView(&l0, 1)) + "' of tag " + quoted(tag) + " announces " +
                        std::to_string(nb) + " length bytes; at most 3 ('83') are allowed",
                    lpos);
    if (end - p < nb) overrun(parent, "length field of tag " + quoted(tag), lpos);
    len = 0;
    for (std::size_t i = 0; i < nb; ++i) len = (len << 8) | all[p++];
    const std::size_t min = nb == 1 ? 0x80 : std::size_t{1} << (8 * (nb - 1));
    if (opt.reject_non_minimal_length && len < min)
      throw GpError(Errc::TlvBadLength, "length " + std::to_string(len) + " of tag " + quoted(tag) + " is not minimally encoded", lpos);
  }
  if (len > end - p)
    overrun(parent, "value of tag " + quoted(tag) + " (" + std::to_string(len) + " bytes, " + std::to_string(end - p) + " left)", lpos);
  return {tag, len, p - pos};
}

// The object at all[pos]; `next` receives the offset just after it.
Tlv parse_one(ByteView all, std::size_t pos, std::size_t end, Tag parent, std::size_t depth, const TlvParseOptions& opt,
              std::size_t& next);

void parse_range(ByteView all, std::size_t begin, std::size_t end, Tag parent, std::size_t depth,
                 const TlvParseOptions& opt, std::vector<Tlv>& out) {
  std::size_t p = begin;
  while (p < end) {
    if (opt.skip_padding && (all[p] == 0x00 || all[p] == 0xFF)) {
      ++p;
      continue;
    }
    out.push_back(parse_one(all, p, end, parent, depth, opt, p));
  }
}

Tlv parse_one(ByteView all, std::size_t pos, std::size_t end, Tag parent, std::size_t depth, const TlvParseOptions& opt,
              std::size_t& next) {
  const TlvHeader h = read_header_at(all, pos, end, parent, opt);
  Tlv t;
  t.tag = h.tag;
  t.offset = pos;
  t.header_size = h.header_size;
  const std::size_t v = pos + h.header_size;
  t.value.assign(all.begin() + static_cast<std::ptrdiff_t>(v), all.begin() + static_cast<std::ptrdiff_t>(v + h.length));
  if (tag_is_constructed(h.tag)) {
    if (depth >= opt.max_depth)
      throw GpError(Errc::Unsupported, "constructed objects nested deeper than " + std::to_string(opt.max_depth) + " levels", pos);
    parse_range(all, v, v + h.length, h.tag, depth + 1, opt, t.children);
  }
  next = v + h.length;
  return t;
}

void collect(const std::vector<Tlv>& list, Tag t, TlvSearch how, std::vector<const Tlv*>& out) {
  for (const auto& x : list) {
    if (x.tag == t) out.push_back(&x);
    if (how == TlvSearch::Recursive) collect(x.children, t, how, out);
  }
}

}  // namespace

Tlv Tlv::primitive(Tag tag, Bytes value) {
  Tlv t;
  t.tag = tag;
  t.value = std::move(value);
  return t;
}

Tlv Tlv::constructed(Tag tag, std::vector<Tlv> children) {
  if (!tag_is_constructed(tag))
    throw GpError(Errc::InvalidArgument, "tag " + quoted(tag) + " is primitive, it cannot hold children");
  Tlv t;
  t.tag = tag;
  t.value = encode_tlv_list(children);
  t.children = std::move(children);
  return t;
}

const Tlv* Tlv::find(Tag t) const noexcept { return find_tlv(children, t); }

std::vector<const Tlv*> Tlv::find_all(Tag t) const { return find_all_tlv(children, t); }

const Tlv& Tlv::require(Tag t) const {
  const Tlv* x = find(t);
  if (x == nullptr) throw GpError(Errc::TlvBadTag, "tag " + quoted(tag) + " has no " + quoted(t), offset);
  return *x;
}

Bytes Tlv::encode() const { return encode_tlv(tag, value); }

std::vector<Tlv> parse_tlv_list(ByteView data, const TlvParseOptions& opt) {
  std::vector<Tlv> out;
  parse_range(data, 0, data.size(), 0, 0, opt, out);
  return out;
}

Tlv parse_tlv(ByteView data, const TlvParseOptions& opt) {
  std::size_t p = 0;
  if (opt.skip_padding)
    while (p < data.size() && (data[p] == 0x00 || data[p] == 0xFF)) ++p;
  if (p >= data.size()) throw GpError(Errc::TlvTruncated, "no TLV object in the data", p);
  std::size_t q = 0;
  Tlv t = parse_one(data, p, data.size(), 0, 0, opt, q);
  if (opt.skip_padding)
    while (q < data.size() && (data[q] == 0x00 || data[q] == 0xFF)) ++q;
  if (q != data.size())
    throw GpError(Errc::TlvTrailingData,
                  std::to_string(data.size() - q) + " bytes after the " + quoted(t.tag) + " object", q);
  return t;
}

TlvHeader read_tlv_header(ByteView data, std::size_t offset, const TlvParseOptions& opt) {
  if (offset >= data.size()) throw GpError(Errc::TlvTruncated, "no TLV header: the data ends", offset);
  return read_header_at(data, offset, data.size(), 0, opt);
}

const Tlv* find_tlv(const std::vector<Tlv>& list, Tag t, TlvSearch how) noexcept {
  for (const auto& x : list) {
    if (x.tag == t) return &x;
    if (how == TlvSearch::Recursive)
      if (const Tlv* c = find_tlv(x.children, t, how)) return c;
  }
  return nullptr;
}

std::vector<const Tlv*> find_all_tlv(const std::vector<Tlv>& list, Tag t, TlvSearch how) {
  std::vector<const Tlv*> out;
  collect(list, t, how, out);
  return out;
}

Bytes encode_tag(Tag t) {
  const std::size_t n = tag_size(t);
  if (n == 0) throw GpError(Errc::InvalidArgument, "'" + tag_hex(t) + "' is not a valid BER-TLV tag of 1 to 3 bytes");
  Bytes out;
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(t >> (8 * i)));
  return out;
}

Bytes encode_length(std::size_t n) {
  if (n > kMaxTlvLength) throw GpError(Errc::InvalidArgument, "TLV value of " + std::to_string(n) + " bytes is too long");
  if (n < 0x80) return {static_cast<std::uint8_t>(n)};
  if (n <= 0xFF) return {0x81, static_cast<std::uint8_t>(n)};
  if (n <= 0xFFFF) return {0x82, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  return {0x83, static_cast<std::uint8_t>(n >> 16), static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
}

void append_tlv(Bytes& out, Tag t, ByteView value) {
  const Bytes tag = encode_tag(t), len = encode_length(value.size());
  out.insert(out.end(), tag.begin(), tag.end());
  out.insert(out.end(), len.begin(), len.end());
  out.insert(out.end(), value.begin(), value.end());
}

Bytes encode_tlv(Tag t, ByteView value) {
  Bytes out;
  append_tlv(out, t, value);
  return out;
}

Bytes encode_tlv_list(const std::vector<Tlv>& list) {
  Bytes out;
  for (const auto& x : list) append_tlv(out, x.tag, x.value);
  return out;
}

Bytes strip_outer_tag(Tag t, ByteView data, bool fallback_to_raw) {
  const Bytes tag = encode_tag(t);
  if (data.size() < tag.size() || !std::equal(tag.begin(), tag.end(), data.begin())) return to_bytes(data);
  try {
    Tlv x = parse_tlv(data);
    if (x.tag == t) return std::move(x.value);
    if (!fallback_to_raw) throw GpError(Errc::TlvBadTag, "expected tag " + quoted(t) + ", got " + quoted(x.tag), 0);
  } catch (const GpError&) {
    if (!fallback_to_raw) throw;
  }
  return to_bytes(data);
}

}  // namespace sekds::gp
