#include "card/card_store.h"

#include <algorithm>

#include "gp/cplc.h"

namespace sekds::card {

std::vector<CardState> MemoryCardStore::load_all() {
  std::lock_guard lock(m_);
  return cards_;
}

void MemoryCardStore::add_cards(std::vector<CardState>& cards) {
  std::lock_guard lock(m_);
  count_write();
  int next = cards_.empty() ? 1 : cards_.back().slot + 1;
  for (auto& c : cards) {
    c.slot = next++;
    cards_.push_back(c);
  }
}

CardState& MemoryCardStore::at(int slot) {
  for (auto& c : cards_)
    if (c.slot == slot) return c;
  throw CardStoreError("memory card store: no card in slot " + std::to_string(slot));
}

void MemoryCardStore::count_write() {
  if (fail_next_) {
    fail_next_ = false;
    throw CardStoreError("memory card store: simulated write failure");
  }
  ++writes_;
}

void MemoryCardStore::save_counter(int slot, std::uint8_t kvn, std::uint32_t counter) {
  std::lock_guard lock(m_);
  count_write();
  auto& ks = at(slot).key_sets;
  auto it = ks.find(kvn);
  if (it == ks.end()) throw CardStoreError("memory card store: no key set " + std::to_string(kvn));
  it->second.counter = counter;
}

void MemoryCardStore::save_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) {
  std::lock_guard lock(m_);
  count_write();
  auto& c = at(slot);
  c.key_sets = key_sets;
  c.default_kvn = default_kvn;
}

void MemoryCardStore::save_registry(int slot, const Registry& registry) {
  std::lock_guard lock(m_);
  count_write();
  at(slot).registry = registry;
}

void MemoryCardStore::append_store_data(int slot, ByteView record) {
  std::lock_guard lock(m_);
  count_write();
  at(slot).store_data.emplace_back(record.begin(), record.end());
}

bool MemoryCardStore::ic_serial_exists(ByteView serial) {
  std::lock_guard lock(m_);
  return std::any_of(cards_.begin(), cards_.end(), [&](const CardState& c) {
    const gp::Cplc cplc = gp::Cplc::parse(c.identity.cplc);
    const ByteView have = cplc.field(gp::CplcField::IcSerialNumber);
    return std::equal(have.begin(), have.end(), serial.begin(), serial.end());
  });
}

std::size_t MemoryCardStore::writes() const {
  std::lock_guard lock(m_);
  return writes_;
}

void MemoryCardStore::inspect(const std::function<void(const std::vector<CardState>&)>& f) const {
  std::lock_guard lock(m_);
  f(cards_);
}

void MemoryCardStore::fail_next_write() {
  std::lock_guard lock(m_);
  fail_next_ = true;
}

}  // namespace sekds::card
