#include "gp/key_information.h"

#include <algorithm>
#include <set>

#include "gp/error.h"

namespace sekds::gp {

namespace {

std::string hex1(std::uint8_t b) { return to_hex(ByteView(&b, 1)); }

bool is_des_code(std::uint8_t c) noexcept { return c >= kKeyTypeDes && c <= kKeyTypeDesCbc; }

[[noreturn]] void bad(const std::string& what, std::size_t offset) {
  throw GpError(Errc::InvalidLength, "key information data: " + what, offset);
}

}  // namespace

const char* key_type_code_name(std::uint8_t c) noexcept {
  switch (c) {
    case 0x80: return "DES";
    case 0x81: return "3DES (reserved)";
    case 0x82: return "3DES-CBC";
    case 0x83: return "DES-ECB";
    case 0x84: return "DES-CBC";
    case 0x85: return "TLS PSK";
    case 0x88: return "AES";
    case 0x90: return "HMAC-SHA1";
    case 0x91: return "HMAC-SHA1-160";
    case 0xA0: return "RSA public e";
    case 0xA1: return "RSA public N";
    case 0xA2: return "RSA private N";
    case 0xA3: return "RSA private d";
    case 0xA4: return "RSA CRT P";
    case 0xA5: return "RSA CRT Q";
    case 0xA6: return "RSA CRT PQ";
    case 0xA7: return "RSA CRT DP1";
    case 0xA8: return "RSA CRT DQ1";
    case 0xB0: return "ECC public";
    case 0xB1: return "ECC private";
    case 0xF0: return "ECC key parameter reference";
    case 0xFF: return "extended format";
    default: return c < 0x80 ? "private use" : "RFU";
  }
}

std::optional<KeyType> KeyInformationData::symmetric_type() const noexcept {
  if (components.size() != 1) return std::nullopt;
  const auto& c = components.front();
  if (is_des_code(c.type)) {
    if (c.length == 16) return KeyType::Des2;
    if (c.length == 24) return KeyType::Des3;
    return std::nullopt;
  }
  if (c.type == kKeyTypeAes) return aes_type_for_length(c.length);
  return std::nullopt;
}

KeyInformationData KeyInformationData::parse(ByteView v, std::size_t offset) {
  KeyInformationData k;
  if (v.size() < 4) bad("'C0' of " + std::to_string(v.size()) + " bytes; at least KID, KVN, type and length are needed", offset);
  k.key_id = v[0];
  k.kvn = v[1];
  std::size_t p = 2;
  if (v[2] != kKeyTypeExtended) {
    // basic: (type, 1-byte length) pairs to the end
    if ((v.size() - 2) % 2 != 0) bad("basic format: a key type without its length", offset + v.size() - 1);
    for (; p < v.size(); p += 2) {
      if (v[p] == kKeyTypeExtended) bad("basic format: key type 'FF' after the first component", offset + p);
      k.components.push_back({v[p], v[p + 1]});
    }
    return k;
  }
  k.extended = true;
  // components: 'FF' type len(2), the first always prefixed, later ones possibly bare
  while (p < v.size() && (v[p] == kKeyTypeExtended || (p > 2 && v[p] >= 0x80))) {
    const std::size_t need = v[p] == kKeyTypeExtended ? 4 : 3;
    if (v.size() - p < need) bad("extended format: key component truncated", offset + p);
    if (need == 4) ++p;
    k.components.push_back({v[p], static_cast<std::uint16_t>((v[p + 1] << 8) | v[p + 2])});
    p += 3;
  }
  for (Bytes* field : {&k.usage, &k.access}) {
    const char* name = field == &k.usage ? "key usage" : "key access";
    if (p >= v.size()) bad(std::string("extended format: ") + name + " length missing", offset + p);
    const std::size_t n = v[p++];
    if (v.size() - p < n) bad(std::string("extended format: ") + name + " of " + std::to_string(n) + " bytes truncated", offset + p - 1);
    field->assign(v.begin() + static_cast<std::ptrdiff_t>(p), v.begin() + static_cast<std::ptrdiff_t>(p + n));
    p += n;
  }
  if (p != v.size())
    throw GpError(Errc::TlvTrailingData, "key information data: " + std::to_string(v.size() - p) + " bytes after key access", offset + p);
  return k;
}

Bytes KeyInformationData::encode_value() const {
  if (components.empty()) throw GpError(Errc::InvalidArgument, "key information data without a key component");
  Bytes out{key_id, kvn};
  for (const auto& c : components) {
    if (extended) {
      out.push_back(kKeyTypeExtended);
      out.push_back(c.type);
      put_u16(out, c.length);
    } else {
      if (c.type == kKeyTypeExtended || c.length > 0xFF)
        throw GpError(Errc::InvalidArgument, "basic key information cannot hold key type 'FF' or lengths above 255");
      out.push_back(c.type);
      out.push_back(static_cast<std::uint8_t>(c.length));
    }
  }
  if (extended) {
    for (const Bytes* field : {&usage, &access}) {
      if (field->size() > 0x7F) throw GpError(Errc::InvalidArgument, "key usage/access longer than 127 bytes");
      out.push_back(static_cast<std::uint8_t>(field->size()));
      out.insert(out.end(), field->begin(), field->end());
    }
  } else if (!usage.empty() || !access.empty()) {
    throw GpError(Errc::InvalidArgument, "key usage and access need the extended format");
  }
  return out;
}

Bytes KeyInformationData::encode() const { return encode_tlv(kTagKeyInformationData, encode_value()); }

const char* key_set_problem_name(KeySetProblem p) noexcept {
  switch (p) {
    case KeySetProblem::None: return "None";
    case KeySetProblem::Absent: return "Absent";
    case KeySetProblem::NotSymmetric: return "NotSymmetric";
    case KeySetProblem::BadLength: return "BadLength";
    case KeySetProblem::MixedTypes: return "MixedTypes";
    case KeySetProblem::DuplicateKeyId: return "DuplicateKeyId";
  }
  return "?";
}

bool KeySetInfo::has_enc_mac_dek() const noexcept {
  for (std::uint8_t id : {std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{3}})
    if (std::find(key_ids.begin(), key_ids.end(), id) == key_ids.end()) return false;
  return true;
}

KeyInformation KeyInformation::parse(ByteView data) {
  KeyInformation ki;
  std::vector<Tlv> list = parse_tlv_list(data);
  const std::vector<Tlv>* items = &list;
  if (!list.empty() && list.front().tag == kTagKeyInformationTemplate) {
    if (list.size() != 1)
      throw GpError(Errc::TlvTrailingData, "data after the 'E0' key information template", list[1].offset);
    items = &list.front().children;
  }
  for (const Tlv& t : *items) {
    if (t.tag != kTagKeyInformationData)
      throw GpError(Errc::TlvBadTag, "key information template holds '" + tag_hex(t.tag) + "', expected 'C0'", t.offset);
    if (t.value.empty()) continue;  // fresh Security Domain: an empty entry
    ki.keys.push_back(KeyInformationData::parse(t.value, t.value_offset()));
  }
  return ki;
}

Bytes KeyInformation::encode() const {
  Bytes body;
  for (const auto& k : keys) {
    Bytes c0 = k.encode();
    body.insert(body.end(), c0.begin(), c0.end());
  }
  return encode_tlv(kTagKeyInformationTemplate, body);
}

std::vector<std::uint8_t> KeyInformation::key_set_versions() const {
  std::set<std::uint8_t> s;
  for (const auto& k : keys) s.insert(k.kvn);
  return {s.begin(), s.end()};
}

std::vector<const KeyInformationData*> KeyInformation::keys_of(std::uint8_t kvn) const {
  std::vector<const KeyInformationData*> out;
  for (const auto& k : keys)
    if (k.kvn == kvn) out.push_back(&k);
  return out;
}

KeySetCheck KeyInformation::check_key_set(std::uint8_t kvn) const {
  const std::string set = "key set version " + std::to_string(kvn) + " ('" + hex1(kvn) + "')";
  const auto fail = [](KeySetProblem p, std::string d) { return KeySetCheck{p, std::move(d), std::nullopt}; };
  auto ks = keys_of(kvn);
  if (ks.empty()) return fail(KeySetProblem::Absent, set + " is not in the key information template");
  KeySetInfo info;
  info.kvn = kvn;
  for (std::size_t i = 0; i < ks.size(); ++i) {
    const auto& k = *ks[i];
    const std::string key = set + " key id " + std::to_string(k.key_id);
    if (k.components.size() != 1 || !(is_des_code(k.type()) || k.type() == kKeyTypeAes))
      return fail(KeySetProblem::NotSymmetric,
                  key + " is " + key_type_code_name(k.type()) + " ('" + hex1(k.type()) + "')" +
                      (k.components.size() != 1 ? " with " + std::to_string(k.components.size()) + " components" : "") +
                      ", not a DES or AES key");
    auto t = k.symmetric_type();
    if (!t)
      return fail(KeySetProblem::BadLength, key + ": " + key_type_code_name(k.type()) + " key of " +
                                                std::to_string(k.length()) + " bytes is not supported");
    if (i > 0 && *t != info.key_type)
      return fail(KeySetProblem::MixedTypes, set + " mixes " + key_type_name(info.key_type) + " and " + key_type_name(*t) + " keys");
    info.key_type = *t;
    if (std::find(info.key_ids.begin(), info.key_ids.end(), k.key_id) != info.key_ids.end())
      return fail(KeySetProblem::DuplicateKeyId, key + " appears twice");
    info.key_ids.push_back(k.key_id);
  }
  std::sort(info.key_ids.begin(), info.key_ids.end());
  return {KeySetProblem::None, {}, std::move(info)};
}

KeySetInfo KeyInformation::key_set(std::uint8_t kvn) const {
  KeySetCheck c = check_key_set(kvn);
  if (!c.ok()) throw GpError(Errc::InvalidArgument, c.detail);
  return std::move(*c.info);
}

std::vector<std::uint8_t> KeyInformation::usable_key_set_versions() const {
  std::vector<std::uint8_t> out;
  for (std::uint8_t v : key_set_versions())
    if (check_key_set(v).ok()) out.push_back(v);
  return out;
}

}  // namespace sekds::gp
