// GET STATUS (GP 2.3.1 §11.4): the registry, filtered by an AID prefix ('4F'), in the GP
// TLV format ('E3' per entry, P2 b2) or the legacy one, paged with '6310' and "get next
// occurrence" (P2 b1) when the entries do not fit in one response.
#include <algorithm>

#include "card/card.h"
#include "card/sw.h"
#include "gp/tlv.h"

namespace sekds::card {

namespace {

constexpr std::uint8_t kScopeIsd = 0x80;
constexpr std::uint8_t kScopeApplications = 0x40;
constexpr std::uint8_t kScopeLoadFiles = 0x20;
constexpr std::uint8_t kScopeLoadFilesAndModules = 0x10;
// Response data budget per page: with R-ENCRYPTION (AES padding to 16) and an 8-byte R-MAC,
// 239 bytes of data still fit in 256.
constexpr std::size_t kPageBudget = 239;

bool matches(ByteView aid, ByteView prefix) {
  return prefix.size() <= aid.size() && std::equal(prefix.begin(), prefix.end(), aid.begin());
}

void lv(Bytes& out, ByteView v) {
  out.push_back(static_cast<std::uint8_t>(v.size()));
  out.insert(out.end(), v.begin(), v.end());
}

Bytes privileges3(ByteView p) {
  Bytes out(p.begin(), p.end());
  out.resize(3, 0x00);
  return out;
}

Bytes entry_sd_or_app(ByteView aid, std::uint8_t lc, ByteView privs, const Bytes* load_file, bool tlv) {
  if (!tlv) {  // legacy: AID length, AID, life cycle, privileges (1 byte)
    Bytes e;
    lv(e, aid);
    e.push_back(lc);
    e.push_back(privs.empty() ? 0 : privs[0]);
    return e;
  }
  Bytes body = gp::encode_tlv(0x4F, aid);
  gp::append_tlv(body, 0x9F70, Bytes{lc});
  gp::append_tlv(body, 0xC5, privileges3(privs));
  if (load_file != nullptr) gp::append_tlv(body, 0xC4, *load_file);
  if (aid.size() != kIsdAid.size() || !std::equal(aid.begin(), aid.end(), kIsdAid.begin()))
    gp::append_tlv(body, 0xCC, kIsdAid);  // associated security domain
  return gp::encode_tlv(0xE3, body);
}

Bytes entry_load_file(const LoadFile& f, bool with_modules, bool tlv) {
  if (!tlv) {  // legacy: AID length, AID, life cycle, privileges (00) [, module count, (length, AID)*]
    Bytes e;
    lv(e, f.aid);
    e.push_back(f.lifecycle);
    e.push_back(0x00);
    if (with_modules) {
      e.push_back(static_cast<std::uint8_t>(f.modules.size()));
      for (const auto& m : f.modules) lv(e, m);
    }
    return e;
  }
  Bytes body = gp::encode_tlv(0x4F, f.aid);
  gp::append_tlv(body, 0x9F70, Bytes{f.lifecycle});
  if (!f.version.empty()) gp::append_tlv(body, 0xCE, f.version);
  if (with_modules)
    for (const auto& m : f.modules) gp::append_tlv(body, 0x84, m);
  gp::append_tlv(body, 0xCC, kIsdAid);
  return gp::encode_tlv(0xE3, body);
}

}  // namespace

gp::ResponseApdu Card::get_status(const gp::CommandApdu& c) {
  const std::uint8_t scope = c.p1;
  if (scope != kScopeIsd && scope != kScopeApplications && scope != kScopeLoadFiles && scope != kScopeLoadFilesAndModules)
    throw SwError(gp::kSwIncorrectP1P2, "GET STATUS P1 must be 80, 40, 20 or 10");
  if ((c.p2 & ~0x03) != 0) throw SwError(gp::kSwIncorrectP1P2, "GET STATUS P2 must be 00, 01, 02 or 03");
  const bool tlv = (c.p2 & 0x02) != 0;
  const bool next = (c.p2 & 0x01) != 0;

  // Search criteria: '4F' (an AID prefix; '4F 00' matches everything), optionally with a
  // '5C' tag list, which this card does not need (it always sends the same fields).
  Bytes criteria;
  try {
    const auto objects = gp::parse_tlv_list(c.data);
    const gp::Tlv* aid = gp::find_tlv(objects, 0x4F);
    if (aid == nullptr) throw SwError(gp::kSwWrongData, "GET STATUS search criteria without '4F'");
    for (const auto& o : objects)
      if (o.tag != 0x4F && o.tag != 0x5C) throw SwError(gp::kSwWrongData, "GET STATUS: unknown search criterion");
    if (aid->value.size() > 16) throw SwError(gp::kSwWrongData, "GET STATUS: '4F' longer than an AID");
    criteria = aid->value;
  } catch (const gp::GpError& e) {
    throw SwError(gp::kSwWrongData, e.what());
  }

  if (!next) {
    status_cursor_ = StatusCursor{scope, tlv, criteria, 0};
  } else if (!status_cursor_ || status_cursor_->p1 != scope || status_cursor_->tlv_format != tlv) {
    status_cursor_.reset();
    throw SwError(gp::kSwConditionsNotSatisfied, "GET STATUS 'next occurrence' without a previous GET STATUS");
  }
  StatusCursor& cur = *status_cursor_;

  std::vector<Bytes> entries;
  const Registry& reg = state_.registry;
  if (scope == kScopeIsd) {
    if (matches(kIsdAid, cur.criteria)) entries.push_back(entry_sd_or_app(kIsdAid, state_.isd_lifecycle, kIsdPrivileges, nullptr, tlv));
  } else if (scope == kScopeApplications) {
    for (const auto& a : reg.applications)
      if (matches(a.aid, cur.criteria)) entries.push_back(entry_sd_or_app(a.aid, a.lifecycle, a.privileges, &a.load_file_aid, tlv));
  } else {
    for (const auto& f : reg.load_files)
      if (matches(f.aid, cur.criteria)) entries.push_back(entry_load_file(f, scope == kScopeLoadFilesAndModules, tlv));
  }
  if (entries.empty() || cur.next >= entries.size()) {
    status_cursor_.reset();
    throw SwError(gp::kSwReferencedDataNotFound, "GET STATUS: no matching entry");
  }

  Bytes out;
  std::size_t i = cur.next;
  while (i < entries.size() && (out.empty() || out.size() + entries[i].size() <= kPageBudget)) {
    out.insert(out.end(), entries[i].begin(), entries[i].end());
    ++i;
  }
  if (i < entries.size()) {
    cur.next = i;
    return gp::ResponseApdu{std::move(out), kSwMoreDataAvailable};
  }
  status_cursor_.reset();
  return gp::ResponseApdu{std::move(out), gp::kSwNoError};
}

}  // namespace sekds::card
