#include "gp/card_recognition.h"

#include <algorithm>

#include "gp/error.h"

namespace sekds::gp {

namespace {

constexpr Tag kTagOid = 0x06;
const Bytes kGlobalPlatformOid{0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B};  // 1.2.840.114283

Bytes gp_oid(std::uint8_t arc, ByteView rest = {}) {
  Bytes o = kGlobalPlatformOid;
  o.push_back(arc);
  o.insert(o.end(), rest.begin(), rest.end());
  return o;
}

bool starts_with(ByteView v, ByteView prefix) {
  return v.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), v.begin());
}

[[noreturn]] void bad(const std::string& what, std::size_t offset) {
  throw GpError(Errc::InvalidArgument, "card recognition data: " + what, offset);
}

// The content of the single OID a '60', '63' or '64' object holds.
const Bytes& only_oid(const Tlv& t) {
  if (t.children.size() != 1 || t.children.front().tag != kTagOid)
    bad("'" + tag_hex(t.tag) + "' must hold exactly one OID ('06')", t.offset);
  return t.children.front().value;
}

}  // namespace

std::string CardRecognitionData::gp_version_string() const {
  std::string s;
  for (std::uint8_t b : gp_version) {
    if (!s.empty()) s += '.';
    s += std::to_string(b);
  }
  return s;
}

CardRecognitionData CardRecognitionData::parse(ByteView data) {
  Tlv top = parse_tlv(data);
  const Tlv* crd = &top;
  if (top.tag == kTagCardData) {
    if (top.children.size() != 1 || top.children.front().tag != kTagCardRecognitionData)
      bad("'66' must hold exactly one '73'", top.offset);
    crd = &top.children.front();
  } else if (top.tag != kTagCardRecognitionData) {
    throw GpError(Errc::TlvBadTag, "card data must be '66' or '73', got '" + tag_hex(top.tag) + "'", top.offset);
  }
  const auto& ch = crd->children;
  if (ch.empty() || ch.front().tag != kTagOid || ch.front().value != gp_oid(1))
    bad("'73' does not start with the OID {globalPlatform 1} (1.2.840.114283.1)", crd->value_offset());

  CardRecognitionData c;
  bool seen[9] = {};  // '60'..'68'
  for (std::size_t i = 1; i < ch.size(); ++i) {
    const Tlv& t = ch[i];
    if (t.tag >= 0x60 && t.tag <= 0x68 && t.tag != 0x64) {
      if (seen[t.tag - 0x60]) bad("'" + tag_hex(t.tag) + "' appears twice", t.offset);
      seen[t.tag - 0x60] = true;
    }
    switch (t.tag) {
      case 0x60: {
        const Bytes& o = only_oid(t);
        if (!starts_with(o, gp_oid(2)) || o.size() == gp_oid(2).size())
          bad("'60' is not {globalPlatform 2} followed by a version", t.offset);
        c.gp_version.assign(o.begin() + static_cast<std::ptrdiff_t>(gp_oid(2).size()), o.end());
        break;
      }
      case 0x63: c.card_identification_scheme = only_oid(t); break;
      case 0x64: {
        const Bytes& o = only_oid(t);
        if (!starts_with(o, gp_oid(4)) || o.size() != gp_oid(4).size() + 2)
          bad("'64' is not {globalPlatform 4} followed by an SCP and its i parameter", t.offset);
        c.scps.push_back({o[o.size() - 2], o[o.size() - 1]});
        break;
      }
      case 0x65: c.card_configuration_details = t.value; break;
      case 0x66: c.card_chip_details = t.value; break;
      case 0x67: c.trust_point_certificate = t.value; break;
      case 0x68: c.sd_certificate_information = t.value; break;
      default: c.other.push_back(t); break;
    }
  }
  return c;
}

Bytes CardRecognitionData::encode() const {
  Bytes body = encode_tlv(kTagOid, gp_oid(1));
  if (!gp_version.empty()) append_tlv(body, 0x60, encode_tlv(kTagOid, gp_oid(2, gp_version)));
  if (card_identification_scheme) append_tlv(body, 0x63, encode_tlv(kTagOid, *card_identification_scheme));
  for (const auto& s : scps) {
    const std::uint8_t si[2] = {s.scp, s.i};
    append_tlv(body, 0x64, encode_tlv(kTagOid, gp_oid(4, si)));
  }
  if (card_configuration_details) append_tlv(body, 0x65, *card_configuration_details);
  if (card_chip_details) append_tlv(body, 0x66, *card_chip_details);
  if (trust_point_certificate) append_tlv(body, 0x67, *trust_point_certificate);
  if (sd_certificate_information) append_tlv(body, 0x68, *sd_certificate_information);
  for (const auto& o : other) append_tlv(body, o.tag, o.value);
  return encode_tlv(kTagCardData, encode_tlv(kTagCardRecognitionData, body));
}

std::string oid_to_string(ByteView c) {
  if (c.empty()) throw GpError(Errc::InvalidArgument, "empty OID");
  std::string out;
  std::uint64_t v = 0;
  bool first = true, in_arc = false;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!in_arc && c[i] == 0x80) throw GpError(Errc::InvalidArgument, "OID arc with a leading zero byte", i);
    if (v > (UINT64_MAX >> 7)) throw GpError(Errc::InvalidArgument, "OID arc longer than 64 bits", i);
    v = (v << 7) | (c[i] & 0x7F);
    in_arc = (c[i] & 0x80) != 0;
    if (in_arc) continue;
    if (first) {
      const std::uint64_t top = v < 40 ? 0 : v < 80 ? 1 : 2;
      out = std::to_string(top) + "." + std::to_string(v - 40 * top);
      first = false;
    } else {
      out += "." + std::to_string(v);
    }
    v = 0;
  }
  if (in_arc) throw GpError(Errc::InvalidArgument, "OID ends inside an arc", c.size());
  return out;
}

}  // namespace sekds::gp
