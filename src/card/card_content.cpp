// Card content management (GP 2.3.1 §11.2, §11.5, §11.6): INSTALL [for load], LOAD of the
// load file data block in numbered blocks, INSTALL [for install] / [for make selectable],
// DELETE. The registry is saved before each answer that changes it.
#include <algorithm>

#include "card/card.h"
#include "card/load_file.h"
#include "card/sw.h"
#include "gp/tlv.h"

namespace sekds::card {

namespace {

constexpr std::uint8_t kForLoad = 0x02;
constexpr std::uint8_t kForInstall = 0x04;
constexpr std::uint8_t kForMakeSelectable = 0x08;
constexpr std::uint8_t kForInstallAndMakeSelectable = 0x0C;
constexpr std::uint8_t kLastBlock = 0x80;

// The length-value fields of INSTALL (GP 2.3.1 Tables 11-47 .. 11-50). Every problem is
// '6A80' (incorrect parameters in the data field) naming the field.
class LvReader {
 public:
  LvReader(ByteView data, const char* command) : d_(data), command_(command) {}

  ByteView next(const char* what, std::size_t min, std::size_t max) {
    if (pos_ >= d_.size()) fail(std::string(what) + " is missing");
    const std::size_t len = d_[pos_];
    if (len > d_.size() - pos_ - 1) fail(std::string(what) + " runs past the end of the data");
    if (len < min || len > max)
      fail(std::string(what) + " must be " + std::to_string(min) + ".." + std::to_string(max) + " bytes, got " +
           std::to_string(len));
    const ByteView v = d_.subspan(pos_ + 1, len);
    pos_ += 1 + len;
    return v;
  }
  ByteView aid(const char* what) { return next(what, 5, 16); }
  void finish() {
    if (pos_ != d_.size()) fail("bytes after the last field");
  }

 private:
  [[noreturn]] void fail(const std::string& what) { throw SwError(gp::kSwWrongData, std::string(command_) + ": " + what); }
  ByteView d_;
  const char* command_;
  std::size_t pos_ = 0;
};

bool same(ByteView a, ByteView b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

struct C4Header {
  std::size_t header_size, length;
};
// The 'C4' tag and length at the start of the LOAD data once all of it has arrived (without
// DAP blocks before it); nullopt while incomplete or in another form (judged on the last block).
// Read by hand: a TLV parser would reject the value as truncated on every block but the last.
std::optional<C4Header> c4_header(ByteView d) {
  if (d.size() < 2 || d[0] != 0xC4) return std::nullopt;
  const std::uint8_t first = d[1];
  if (first < 0x80) return C4Header{2, first};
  const std::size_t n = first & 0x7F;
  if (n == 0 || n > 3 || d.size() < 2 + n) return std::nullopt;
  std::size_t len = 0;
  for (std::size_t i = 0; i < n; ++i) len = (len << 8) | d[2 + i];
  return C4Header{2 + n, len};
}

}  // namespace

gp::ResponseApdu Card::install(const gp::CommandApdu& c) {
  const std::uint8_t p1 = c.p1;
  if (p1 != kForLoad && p1 != kForInstall && p1 != kForMakeSelectable && p1 != kForInstallAndMakeSelectable)
    throw SwError(gp::kSwIncorrectP1P2, "INSTALL P1 must be 02, 04, 08 or 0C");
  if (c.p2 != 0x00) throw SwError(gp::kSwIncorrectP1P2, "INSTALL P2 must be 00");
  if (c.data.empty()) throw SwError(gp::kSwWrongLength, "INSTALL without data");
  LvReader r(c.data, "INSTALL");
  // Every INSTALL answers a single '00' byte (no receipt: no Delegated Management).
  const gp::ResponseApdu ok{Bytes{0x00}, gp::kSwNoError};

  if (p1 == kForLoad) {
    const ByteView aid = r.aid("load file AID");
    const ByteView sd = r.next("security domain AID", 0, 16);
    r.next("load file data block hash", 0, 64);
    r.next("load parameters", 0, 255);
    r.next("load token", 0, 255);
    r.finish();
    if (!sd.empty() && !same(sd, kIsdAid)) throw SwError(gp::kSwReferencedDataNotFound, "INSTALL [for load]: unknown security domain");
    if (state_.registry.find_load_file(aid) != nullptr || state_.registry.find_application(aid) != nullptr || same(aid, kIsdAid))
      throw SwError(gp::kSwConditionsNotSatisfied, "INSTALL [for load]: that AID is already on the card");
    if (state_.registry.load_files.size() >= limits_.max_load_files)
      throw SwError(kSwNotEnoughMemory, "INSTALL [for load]: no room for another load file");
    pending_load_ = PendingLoad{Bytes(aid.begin(), aid.end()), 0, {}};
    return ok;
  }

  if (p1 == kForMakeSelectable) {
    r.next("load file AID", 0, 0);
    r.next("module AID", 0, 0);
    const ByteView aid = r.aid("application AID");
    r.next("privileges", 0, 3);
    r.next("install parameters", 0, 255);
    r.next("install token", 0, 255);
    r.finish();
    const Application* a = state_.registry.find_application(aid);
    if (a == nullptr) throw SwError(gp::kSwReferencedDataNotFound, "INSTALL [for make selectable]: no such application");
    if (a->lifecycle != lifecycle::kInstalled)
      throw SwError(gp::kSwConditionsNotSatisfied, "INSTALL [for make selectable]: the application is not INSTALLED");
    Registry next = state_.registry;
    next.find_application(aid)->lifecycle = lifecycle::kSelectable;
    persist([&](CardStore& s) { s.save_registry(state_.slot, next); });
    state_.registry = std::move(next);
    return ok;
  }

  // [for install] and [for install and make selectable]
  const ByteView elf = r.aid("load file AID");
  const ByteView module = r.aid("module AID");
  const ByteView aid = r.aid("application AID");
  const ByteView privileges = r.next("privileges", 1, 3);
  const ByteView params = r.next("install parameters", 2, 255);
  r.next("install token", 0, 255);
  r.finish();
  try {  // install parameters: 'C9' application specific parameters are mandatory (GP 2.3.1 §11.5.2.3.7)
    if (gp::find_tlv(gp::parse_tlv_list(params), 0xC9) == nullptr)
      throw SwError(gp::kSwWrongData, "INSTALL: install parameters without 'C9'");
  } catch (const gp::GpError& e) {
    throw SwError(gp::kSwWrongData, std::string("INSTALL: install parameters: ") + e.what());
  }
  const LoadFile* f = state_.registry.find_load_file(elf);
  if (f == nullptr) throw SwError(gp::kSwReferencedDataNotFound, "INSTALL: no such load file");
  if (std::none_of(f->modules.begin(), f->modules.end(), [&](const Bytes& m) { return same(m, module); }))
    throw SwError(gp::kSwReferencedDataNotFound, "INSTALL: the load file has no such module");
  if (state_.registry.find_application(aid) != nullptr || state_.registry.find_load_file(aid) != nullptr || same(aid, kIsdAid))
    throw SwError(gp::kSwConditionsNotSatisfied, "INSTALL: that application AID is already on the card");
  if (state_.registry.applications.size() >= limits_.max_applications)
    throw SwError(kSwNotEnoughMemory, "INSTALL: no room for another application");
  Application a;
  a.aid.assign(aid.begin(), aid.end());
  a.load_file_aid.assign(elf.begin(), elf.end());
  a.module_aid.assign(module.begin(), module.end());
  a.privileges.assign(privileges.begin(), privileges.end());
  a.privileges.resize(3, 0x00);
  a.lifecycle = p1 == kForInstall ? lifecycle::kInstalled : lifecycle::kSelectable;
  Registry next = state_.registry;
  next.applications.push_back(std::move(a));
  persist([&](CardStore& s) { s.save_registry(state_.slot, next); });
  state_.registry = std::move(next);
  return ok;
}

gp::ResponseApdu Card::load(const gp::CommandApdu& c) {
  if (!pending_load_) throw SwError(gp::kSwConditionsNotSatisfied, "LOAD without INSTALL [for load]");
  if (c.p1 != 0x00 && c.p1 != kLastBlock) throw SwError(gp::kSwIncorrectP1P2, "LOAD P1 must be 00 or 80");
  PendingLoad& p = *pending_load_;
  if (c.p2 != p.next_block) {
    pending_load_.reset();  // blocks out of order: the load is abandoned
    throw SwError(gp::kSwIncorrectP1P2, "LOAD block number out of sequence");
  }
  if (c.data.empty()) throw SwError(gp::kSwWrongLength, "LOAD without data");
  if (p.data.size() + c.data.size() > limits_.max_load_file_size + 8) {  // 8: room for 'C4' and DAP headers
    pending_load_.reset();
    throw SwError(kSwNotEnoughMemory, "LOAD: load file larger than this card accepts");
  }
  p.data.insert(p.data.end(), c.data.begin(), c.data.end());
  ++p.next_block;
  // As soon as the 'C4' header is in, its length must fit.
  if (const auto h = c4_header(p.data)) {
    if (h->length > limits_.max_load_file_size) {
      pending_load_.reset();
      throw SwError(kSwNotEnoughMemory, "LOAD: load file larger than this card accepts");
    }
    if (p.data.size() > h->header_size + h->length) {
      pending_load_.reset();
      throw SwError(gp::kSwWrongData, "LOAD: more data than the 'C4' length announces");
    }
  }
  if (c.p1 != kLastBlock) {
    if (p.next_block == 0) {  // 256 blocks and still not the last
      pending_load_.reset();
      throw SwError(kSwNotEnoughMemory, "LOAD: more than 256 blocks");
    }
    return gp::ResponseApdu{{}, gp::kSwNoError};
  }

  const PendingLoad done = std::move(p);
  pending_load_.reset();
  LoadFileInfo info;
  ByteView components;
  try {
    components = load_file_data_block_components(done.data);
    info = parse_load_file(components);
  } catch (const LoadFileError& e) {
    throw SwError(gp::kSwWrongData, e.what());
  }
  if (info.package_aid != done.aid)
    throw SwError(gp::kSwWrongData, "LOAD: the package AID in the Header component is not the AID of INSTALL [for load]");
  if (info.applet_aids.size() > limits_.max_modules_per_load_file)
    throw SwError(kSwNotEnoughMemory, "LOAD: too many applets in one load file");
  LoadFile f;
  f.aid = done.aid;
  f.version = {info.major, info.minor};
  f.modules = std::move(info.applet_aids);
  f.size = static_cast<std::uint32_t>(components.size());
  Registry next = state_.registry;
  next.load_files.push_back(std::move(f));
  persist([&](CardStore& s) { s.save_registry(state_.slot, next); });
  state_.registry = std::move(next);
  return gp::ResponseApdu{Bytes{0x00}, gp::kSwNoError};
}

gp::ResponseApdu Card::delete_object(const gp::CommandApdu& c) {
  // P1 00: last (or only) DELETE; P2 00 the object, 80 the object and its related objects.
  if (c.p1 != 0x00) throw SwError(gp::kSwIncorrectP1P2, "DELETE P1 must be 00");
  if (c.p2 != 0x00 && c.p2 != 0x80) throw SwError(gp::kSwIncorrectP1P2, "DELETE P2 must be 00 or 80");
  if (c.data.empty()) throw SwError(gp::kSwWrongLength, "DELETE without data");
  Bytes aid;
  try {
    const auto objects = gp::parse_tlv_list(c.data);
    const gp::Tlv* t = gp::find_tlv(objects, 0x4F);
    if (t == nullptr) throw SwError(gp::kSwWrongData, "DELETE without '4F'");
    if (t->value.size() < 5 || t->value.size() > 16) throw SwError(gp::kSwWrongData, "DELETE: '4F' is not an AID");
    aid = t->value;
  } catch (const gp::GpError& e) {
    throw SwError(gp::kSwWrongData, std::string("DELETE: ") + e.what());
  }
  if (aid == kIsdAid) throw SwError(gp::kSwConditionsNotSatisfied, "DELETE: the ISD cannot be deleted");

  Registry next = state_.registry;
  auto& apps = next.applications;
  if (next.find_application(aid) != nullptr) {
    apps.erase(std::remove_if(apps.begin(), apps.end(), [&](const Application& a) { return a.aid == aid; }), apps.end());
  } else if (next.find_load_file(aid) != nullptr) {
    const auto from_file = [&](const Application& a) { return a.load_file_aid == aid; };
    if (c.p2 == 0x00 && std::any_of(apps.begin(), apps.end(), from_file))
      throw SwError(gp::kSwConditionsNotSatisfied, "DELETE: applications of this load file exist (use P2 80)");
    apps.erase(std::remove_if(apps.begin(), apps.end(), from_file), apps.end());
    auto& files = next.load_files;
    files.erase(std::remove_if(files.begin(), files.end(), [&](const LoadFile& f) { return f.aid == aid; }), files.end());
  } else {
    throw SwError(gp::kSwReferencedDataNotFound, "DELETE: no such object");
  }
  persist([&](CardStore& s) { s.save_registry(state_.slot, next); });
  state_.registry = std::move(next);
  return gp::ResponseApdu{Bytes{0x00}, gp::kSwNoError};
}

}  // namespace sekds::card
