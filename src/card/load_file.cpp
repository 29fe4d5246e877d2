#include "card/load_file.h"

#include <algorithm>
#include <stdexcept>

#include "gp/tlv.h"

namespace sekds::card {

namespace {

constexpr std::uint8_t kMaxComponentTag = 13;  // Java Card 3.1 adds Static Resources (13)
constexpr std::size_t kComponentHeader = 3;    // tag u1, size u2
constexpr std::uint8_t kCapFormatMajor = 2, kCapFormatMinor = 1;
// A method as the filler writes it: header (flags|max_stack, nargs|max_locals), then
// optional nop (00) bytecodes, then `return` (7A).
constexpr std::uint8_t kMethodHeader0 = 0x02, kMethodHeader1 = 0x10, kNop = 0x00, kReturn = 0x7A;
constexpr std::size_t kMinMethod = 3;

[[noreturn]] void bad(const std::string& what, std::size_t offset) { throw LoadFileError(what, offset); }

void check_aid(ByteView aid, const std::string& what, std::size_t offset) {
  if (aid.size() < 5 || aid.size() > 16)
    bad(what + " AID must be 5 to 16 bytes, got " + std::to_string(aid.size()), offset);
}

void parse_header(ByteView info, std::size_t base, LoadFileInfo& out) {
  // magic u4, minor u1, major u1, flags u1, package {minor u1, major u1, AID_length u1, AID}
  if (info.size() < 10) bad("Header component is too short", base);
  const std::uint32_t magic = gp::read_be(info.subspan(0, 4));
  if (magic != kCapMagic) bad("Header component magic is not DECAFFED", base);
  out.minor = info[7];
  out.major = info[8];
  const std::size_t aid_len = info[9];
  if (10 + aid_len > info.size()) bad("Header component package AID runs past the component", base + 9);
  out.package_aid.assign(info.begin() + 10, info.begin() + static_cast<std::ptrdiff_t>(10 + aid_len));
  check_aid(out.package_aid, "package", base + 9);
  std::size_t pos = 10 + aid_len;
  if (pos < info.size()) {  // package_name_info (CAP 2.1): name_length u1, name
    const std::size_t name_len = info[pos];
    if (pos + 1 + name_len != info.size()) bad("Header component has bytes after the package name", base + pos);
  }
}

void parse_applets(ByteView info, std::size_t base, LoadFileInfo& out) {
  if (info.empty()) bad("Applet component is empty", base);
  const std::size_t count = info[0];
  if (count == 0) bad("Applet component lists no applet", base);
  std::size_t pos = 1;
  for (std::size_t i = 0; i < count; ++i) {
    if (pos >= info.size()) bad("Applet component ends before applet " + std::to_string(i + 1), base + pos);
    const std::size_t len = info[pos];
    if (pos + 1 + len + 2 > info.size()) bad("Applet component entry " + std::to_string(i + 1) + " is truncated", base + pos);
    Bytes aid(info.begin() + static_cast<std::ptrdiff_t>(pos + 1), info.begin() + static_cast<std::ptrdiff_t>(pos + 1 + len));
    check_aid(aid, "applet", base + pos);
    out.applet_aids.push_back(std::move(aid));
    pos += 1 + len + 2;  // AID, install_method_offset u2
  }
  if (pos != info.size()) bad("Applet component has bytes after its last applet", base + pos);
}

void put_component(Bytes& out, std::uint8_t tag, ByteView info) {
  out.push_back(tag);
  gp::put_u16(out, static_cast<std::uint16_t>(info.size()));
  out.insert(out.end(), info.begin(), info.end());
}

Bytes header_info(const LoadFileSpec& s) {
  Bytes h{0xDE, 0xCA, 0xFF, 0xED, kCapFormatMinor, kCapFormatMajor, 0x04 /* ACC_APPLET */};
  if (s.applet_aids.empty()) h.back() = 0x00;
  h.push_back(s.minor);
  h.push_back(s.major);
  h.push_back(static_cast<std::uint8_t>(s.package_aid.size()));
  h.insert(h.end(), s.package_aid.begin(), s.package_aid.end());
  return h;
}

Bytes applet_info(const LoadFileSpec& s) {
  Bytes a{static_cast<std::uint8_t>(s.applet_aids.size())};
  std::uint16_t offset = 1;  // install() methods: the first methods after handler_count
  for (const auto& aid : s.applet_aids) {
    a.push_back(static_cast<std::uint8_t>(aid.size()));
    a.insert(a.end(), aid.begin(), aid.end());
    gp::put_u16(a, offset);
    offset = static_cast<std::uint16_t>(offset + kMinMethod);
  }
  return a;
}

void check_spec(const LoadFileSpec& s) {
  if (s.package_aid.size() < 5 || s.package_aid.size() > 16)
    throw std::invalid_argument("package AID must be 5 to 16 bytes, got " + std::to_string(s.package_aid.size()));
  if (s.applet_aids.size() > 255) throw std::invalid_argument("at most 255 applets");
  for (const auto& a : s.applet_aids)
    if (a.size() < 5 || a.size() > 16)
      throw std::invalid_argument("applet AID must be 5 to 16 bytes, got " + std::to_string(a.size()));
}

}  // namespace

LoadFileError::LoadFileError(const std::string& what, std::size_t offset)
    : std::runtime_error("load file: " + what + " (offset " + std::to_string(offset) + ")"), offset_(offset) {}

LoadFileInfo parse_load_file(ByteView c) {
  LoadFileInfo out;
  bool seen[kMaxComponentTag + 1] = {};
  std::size_t pos = 0;
  while (pos < c.size()) {
    if (c.size() - pos < kComponentHeader) bad("component header is truncated", pos);
    const std::uint8_t tag = c[pos];
    const std::size_t size = (static_cast<std::size_t>(c[pos + 1]) << 8) | c[pos + 2];
    if (tag == 0 || tag > kMaxComponentTag) bad("unknown component tag " + std::to_string(tag), pos);
    if (seen[tag]) bad("component " + std::to_string(tag) + " appears twice", pos);
    seen[tag] = true;
    if (size > c.size() - pos - kComponentHeader)
      bad("component " + std::to_string(tag) + " of " + std::to_string(size) + " bytes runs past the end", pos);
    const ByteView info = c.subspan(pos + kComponentHeader, size);
    if (tag == kCapHeader) parse_header(info, pos + kComponentHeader, out);
    if (tag == kCapApplet) parse_applets(info, pos + kComponentHeader, out);
    out.component_tags.push_back(tag);
    pos += kComponentHeader + size;
  }
  if (!seen[kCapHeader]) bad("no Header component (tag 1)", 0);
  return out;
}

ByteView load_file_data_block_components(ByteView block) {
  std::size_t pos = 0;
  while (pos < block.size() && block[pos] == 0xE2) {  // DAP blocks come first (GP 2.3.1 §11.6.2.3)
    gp::TlvHeader h;
    try {
      h = gp::read_tlv_header(block, pos);
    } catch (const std::exception& e) {
      bad(std::string("DAP block: ") + e.what(), pos);
    }
    if (h.length > block.size() - pos - h.header_size) bad("DAP block runs past the end", pos);
    pos += h.header_size + h.length;
  }
  if (pos >= block.size() || block[pos] != 0xC4) bad("load file data block does not start with 'C4'", pos);
  gp::TlvHeader h;
  try {
    h = gp::read_tlv_header(block, pos);
  } catch (const std::exception& e) {
    bad(std::string("'C4' header: ") + e.what(), pos);
  }
  if (h.length != block.size() - pos - h.header_size)
    bad("'C4' says " + std::to_string(h.length) + " bytes but " + std::to_string(block.size() - pos - h.header_size) +
            " follow",
        pos);
  return block.subspan(pos + h.header_size);
}

Bytes make_load_file_data_block(ByteView components) { return gp::encode_tlv(0xC4, components); }

std::size_t min_load_file_size(const LoadFileSpec& spec) {
  check_spec(spec);
  std::size_t n = kComponentHeader + header_info(spec).size();
  if (!spec.applet_aids.empty()) n += kComponentHeader + applet_info(spec).size();
  // Method component: handler_count, then one method per applet (at least one).
  n += kComponentHeader + 1 + kMinMethod * std::max<std::size_t>(1, spec.applet_aids.size());
  return n;
}

Bytes make_load_file(const LoadFileSpec& spec) {
  const std::size_t min = min_load_file_size(spec);
  const std::size_t size = spec.size == 0 ? min : spec.size;
  if (size < min)
    throw std::invalid_argument("a load file with this package and these applets needs at least " + std::to_string(min) +
                                " bytes, asked for " + std::to_string(size));
  const std::size_t methods_min = kMinMethod * std::max<std::size_t>(1, spec.applet_aids.size());
  const std::size_t method_info = 1 + methods_min + (size - min);
  if (method_info > 0xFFFF)
    throw std::invalid_argument("load file of " + std::to_string(size) + " bytes is larger than one Method component can fill (" +
                                std::to_string(size - method_info + 0xFFFF) + " bytes at most)");
  Bytes out;
  out.reserve(size);
  put_component(out, kCapHeader, header_info(spec));
  if (!spec.applet_aids.empty()) put_component(out, kCapApplet, applet_info(spec));
  // Method component: no exception handlers, then small methods; every byte of filler beyond
  // whole 3-byte methods goes into the last one as nops so the size is exact.
  Bytes m{0x00};
  const std::size_t body = method_info - 1;
  const std::size_t count = body / kMinMethod;
  for (std::size_t i = 0; i < count; ++i) {
    m.push_back(kMethodHeader0);
    m.push_back(kMethodHeader1);
    if (i + 1 == count) m.insert(m.end(), body % kMinMethod, kNop);
    m.push_back(kReturn);
  }
  put_component(out, kCapMethod, m);
  return out;
}

}  // namespace sekds::card
