#include "card/card_state.h"

#include <algorithm>

namespace sekds::card {

namespace {
bool same(ByteView a, ByteView b) noexcept { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }
}  // namespace

bool operator==(const LoadFile& a, const LoadFile& b) {
  return a.aid == b.aid && a.lifecycle == b.lifecycle && a.version == b.version && a.modules == b.modules &&
         a.size == b.size;
}

bool operator==(const Application& a, const Application& b) {
  return a.aid == b.aid && a.load_file_aid == b.load_file_aid && a.module_aid == b.module_aid &&
         a.privileges == b.privileges && a.lifecycle == b.lifecycle;
}

const LoadFile* Registry::find_load_file(ByteView aid) const noexcept {
  for (const auto& f : load_files)
    if (same(f.aid, aid)) return &f;
  return nullptr;
}

const Application* Registry::find_application(ByteView aid) const noexcept {
  for (const auto& a : applications)
    if (same(a.aid, aid)) return &a;
  return nullptr;
}

Application* Registry::find_application(ByteView aid) noexcept {
  for (auto& a : applications)
    if (same(a.aid, aid)) return &a;
  return nullptr;
}

const KeySet* CardState::default_key_set() const noexcept {
  auto it = key_sets.find(default_kvn);
  return it == key_sets.end() ? nullptr : &it->second;
}

std::size_t CardState::store_data_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& r : store_data) n += r.size();
  return n;
}

bool key_type_fits(gp::Scp scp, gp::KeyType type) noexcept {
  // SCP02 is defined for 2-key 3DES only (GP 2.3.1 E.1); SCP03 for AES-128/192/256 (Amd D 2.2).
  return scp == gp::Scp::Scp02 ? type == gp::KeyType::Des2 : gp::is_aes(type);
}

std::size_t counter_width(gp::Scp scp) noexcept { return scp == gp::Scp::Scp02 ? 2 : 3; }

}  // namespace sekds::card
