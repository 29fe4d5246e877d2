#include "tsm/gp_commands.h"

#include <cstdio>

#include "gp/error.h"
#include "gp/scp_common.h"
#include "gp/tlv.h"

namespace sekds::tsm {
namespace {

void append_lv(gp::Bytes& out, gp::ByteView v) {
  if (v.size() > 255) throw gp::GpError(gp::Errc::InvalidLength, "INSTALL field longer than 255 bytes");
  out.push_back(static_cast<std::uint8_t>(v.size()));
  out.insert(out.end(), v.begin(), v.end());
}

void check_aid(gp::ByteView aid, const char* what) {
  if (aid.size() < 5 || aid.size() > 16)
    throw gp::GpError(gp::Errc::InvalidLength, std::string(what) + " AID must be 5 to 16 bytes, got " + std::to_string(aid.size()));
}

}  // namespace

const char* registry_kind_name(RegistryKind k) noexcept {
  switch (k) {
    case RegistryKind::IssuerSecurityDomain: return "ISD";
    case RegistryKind::Applications: return "APP";
    case RegistryKind::LoadFiles: return "PKG";
    case RegistryKind::LoadFilesAndModules: return "PKG+MOD";
  }
  return "?";
}

gp::CommandApdu get_status_command(RegistryKind kind, bool next, gp::ByteView aid_prefix) {
  gp::Bytes data = gp::encode_tlv(0x4F, aid_prefix);
  return gp::CommandApdu(gp::kClaGp, kInsGetStatus, static_cast<std::uint8_t>(kind), next ? 0x03 : 0x02, std::move(data), 256);
}

std::vector<RegistryEntry> parse_get_status(RegistryKind kind, gp::ByteView data) {
  std::vector<RegistryEntry> out;
  for (const gp::Tlv& e3 : gp::parse_tlv_list(data)) {
    if (e3.tag != 0xE3) throw gp::GpError(gp::Errc::TlvBadTag, "GET STATUS: expected 'E3' entries, got '" + gp::tag_hex(e3.tag) + "'", e3.offset);
    RegistryEntry r;
    r.kind = kind;
    r.aid = e3.require(0x4F).value;
    if (const gp::Tlv* t = e3.find(0x9F70)) {
      if (t->value.empty()) throw gp::GpError(gp::Errc::InvalidLength, "GET STATUS: empty life cycle '9F70'", t->offset);
      r.lifecycle = t->value.front();
    }
    if (const gp::Tlv* t = e3.find(0xC5)) r.privileges = t->value;
    if (const gp::Tlv* t = e3.find(0xC4)) r.load_file_aid = t->value;
    if (const gp::Tlv* t = e3.find(0xCE)) r.version = t->value;
    if (const gp::Tlv* t = e3.find(0xCC)) r.security_domain = t->value;
    for (const gp::Tlv* m : e3.find_all(0x84)) r.modules.push_back(m->value);
    out.push_back(std::move(r));
  }
  return out;
}

std::string lifecycle_name(RegistryKind kind, std::uint8_t lc) {
  if (kind == RegistryKind::IssuerSecurityDomain) {
    switch (lc) {
      case 0x01: return "OP_READY";
      case 0x07: return "INITIALIZED";
      case 0x0F: return "SECURED";
      case 0x7F: return "CARD_LOCKED";
      case 0xFF: return "TERMINATED";
    }
  } else if (kind == RegistryKind::LoadFiles || kind == RegistryKind::LoadFilesAndModules) {
    if (lc == 0x01) return "LOADED";
  } else {
    if (lc == 0x03) return "INSTALLED";
    if (lc == 0x07) return "SELECTABLE";
    if ((lc & 0x83) == 0x83) return "LOCKED";
    if (lc == 0x0F) return "PERSONALIZED";
  }
  char b[8];
  std::snprintf(b, sizeof b, "0x%02X", lc);
  return b;
}

nlohmann::ordered_json registry_json(const std::vector<RegistryEntry>& entries) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& r : entries) {
    nlohmann::ordered_json j;
    j["kind"] = registry_kind_name(r.kind);
    j["aid"] = gp::to_hex(r.aid);
    j["lifecycle"] = lifecycle_name(r.kind, r.lifecycle);
    if (!r.privileges.empty()) j["privileges"] = gp::to_hex(r.privileges);
    if (r.load_file_aid) j["load_file"] = gp::to_hex(*r.load_file_aid);
    if (r.version) j["version"] = gp::to_hex(*r.version);
    if (!r.modules.empty()) {
      nlohmann::ordered_json m = nlohmann::ordered_json::array();
      for (const auto& x : r.modules) m.push_back(gp::to_hex(x));
      j["modules"] = m;
    }
    a.push_back(j);
  }
  return a;
}

gp::CommandApdu install_for_load(gp::ByteView package_aid, gp::ByteView sd_aid) {
  check_aid(package_aid, "package");
  gp::Bytes d;
  append_lv(d, package_aid);
  append_lv(d, sd_aid);
  d.push_back(0x00);  // no load file data block hash
  d.push_back(0x00);  // no load parameters
  d.push_back(0x00);  // no token
  return gp::CommandApdu(gp::kClaGp, kInsInstall, 0x02, 0x00, std::move(d), 256);
}

gp::CommandApdu install_for_install(gp::ByteView package_aid, gp::ByteView module_aid, gp::ByteView instance_aid,
                                    gp::ByteView privileges, gp::ByteView install_params) {
  check_aid(package_aid, "package");
  check_aid(module_aid, "applet");
  check_aid(instance_aid, "instance");
  gp::Bytes d;
  append_lv(d, package_aid);
  append_lv(d, module_aid);
  append_lv(d, instance_aid);
  append_lv(d, privileges);
  // Install parameters: 'C9' application specific parameters (empty when none given).
  gp::Bytes params = install_params.empty() ? gp::Bytes{0xC9, 0x00} : gp::to_bytes(install_params);
  append_lv(d, params);
  d.push_back(0x00);  // no token
  return gp::CommandApdu(gp::kClaGp, kInsInstall, 0x0C, 0x00, std::move(d), 256);
}

gp::CommandApdu delete_command(gp::ByteView aid, bool related) {
  check_aid(aid, "DELETE");
  return gp::CommandApdu(gp::kClaGp, kInsDelete, 0x00, related ? 0x80 : 0x00, gp::encode_tlv(0x4F, aid), 256);
}

gp::Bytes load_file_data_block(gp::ByteView file) {
  if (file.empty()) throw gp::GpError(gp::Errc::InvalidLength, "the load file is empty");
  if (file.front() == 0xC4 || file.front() == 0xE2) {
    try {
      const auto list = gp::parse_tlv_list(file);
      if (!list.empty() && list.back().tag == 0xC4) return gp::to_bytes(file);
    } catch (const gp::GpError&) {
      // Not TLV: CAP components that happen to start with that byte (cannot happen for a
      // Header-first file, whose first byte is 01) fall through to wrapping.
    }
  }
  return gp::encode_tlv(0xC4, file);
}

gp::Bytes package_aid_of(gp::ByteView file) {
  gp::ByteView comps = file;
  if (!file.empty() && (file.front() == 0xC4 || file.front() == 0xE2)) {
    const auto list = gp::parse_tlv_list(file);
    const gp::Tlv* c4 = gp::find_tlv(list, 0xC4);
    if (!c4) throw gp::GpError(gp::Errc::InvalidArgument, "load file: no 'C4' load file data block");
    comps = file.subspan(c4->value_offset(), c4->value.size());
  }
  std::size_t off = 0;
  while (off + 3 <= comps.size()) {
    const std::uint8_t tag = comps[off];
    const std::size_t size = (static_cast<std::size_t>(comps[off + 1]) << 8) | comps[off + 2];
    if (off + 3 + size > comps.size()) break;
    if (tag == 0x01) {
      // Header: magic(4) minor major flags, then package info: minor major AID_length AID.
      gp::ByteView h = comps.subspan(off + 3, size);
      if (h.size() < 4 + 3 + 3 || h[0] != 0xDE || h[1] != 0xCA || h[2] != 0xFF || h[3] != 0xED)
        throw gp::GpError(gp::Errc::InvalidArgument, "load file: the Header component has no DECAFFED magic", off);
      const std::size_t aid_len = h[9];
      if (aid_len < 5 || aid_len > 16 || 10 + aid_len > h.size())
        throw gp::GpError(gp::Errc::InvalidArgument, "load file: bad package AID length in the Header component", off);
      return gp::to_bytes(h.subspan(10, aid_len));
    }
    off += 3 + size;
  }
  throw gp::GpError(gp::Errc::InvalidArgument, "load file: no Header component (tag 01) with the package AID");
}

std::vector<gp::CommandApdu> load_commands(gp::ByteView block, std::size_t block_size) {
  if (block_size == 0 || block_size > 255) throw gp::GpError(gp::Errc::InvalidArgument, "LOAD block size must be 1..255");
  const std::size_t n = (block.size() + block_size - 1) / block_size;
  if (n > 256) throw gp::GpError(gp::Errc::InvalidLength, "load file needs more than 256 LOAD blocks");
  std::vector<gp::CommandApdu> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t off = i * block_size;
    const std::size_t len = std::min(block_size, block.size() - off);
    out.emplace_back(gp::kClaGp, kInsLoad, i + 1 == n ? 0x80 : 0x00, static_cast<std::uint8_t>(i),
                     gp::to_bytes(block.subspan(off, len)), 256);
  }
  return out;
}

std::vector<gp::CommandApdu> store_data_commands(gp::ByteView data, std::size_t block_size) {
  if (block_size == 0 || block_size > 255) throw gp::GpError(gp::Errc::InvalidArgument, "STORE DATA block size must be 1..255");
  if (data.empty()) throw gp::GpError(gp::Errc::InvalidLength, "STORE DATA needs data");
  const std::size_t n = (data.size() + block_size - 1) / block_size;
  if (n > 256) throw gp::GpError(gp::Errc::InvalidLength, "STORE DATA needs more than 256 blocks");
  std::vector<gp::CommandApdu> out;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t off = i * block_size;
    const std::size_t len = std::min(block_size, data.size() - off);
    out.emplace_back(gp::kClaGp, kInsStoreData, i + 1 == n ? 0x80 : 0x00, static_cast<std::uint8_t>(i),
                     gp::to_bytes(data.subspan(off, len)), 256);
  }
  return out;
}

}  // namespace sekds::tsm
