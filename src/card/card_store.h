// Where the cards' state lives between runs. The engine calls it only when state changes
// (a sequence counter, the key sets, the registry, a STORE DATA record), never per APDU, and
// always BEFORE it answers the command that made the change: an answer the host sees is an
// answer the card remembers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "card/card_state.h"

namespace sekds::card {

// A failure of the storage itself (I/O, corrupt file, constraint). The engine answers the
// command with 6581 (memory failure) and leaves its state as it was.
class CardStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class CardStore {
 public:
  virtual ~CardStore() = default;

  virtual std::vector<CardState> load_all() = 0;
  // New cards, in one transaction: each gets the next free slot number (written back).
  virtual void add_cards(std::vector<CardState>& cards) = 0;

  virtual void save_counter(int slot, std::uint8_t kvn, std::uint32_t counter) = 0;
  // The key sets (with their counters) and the default KVN.
  virtual void save_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) = 0;
  virtual void save_registry(int slot, const Registry& registry) = 0;
  virtual void append_store_data(int slot, ByteView record) = 0;

  // True when a card with this IC serial number (CPLC) exists: personalisation keeps them unique.
  virtual bool ic_serial_exists(ByteView serial) = 0;
};

// Keeps everything in memory: for tests and in-process simulators. Thread-safe. Counts the
// writes so tests can see that the engine writes only when state changes.
class MemoryCardStore final : public CardStore {
 public:
  std::vector<CardState> load_all() override;
  void add_cards(std::vector<CardState>& cards) override;
  void save_counter(int slot, std::uint8_t kvn, std::uint32_t counter) override;
  void save_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) override;
  void save_registry(int slot, const Registry& registry) override;
  void append_store_data(int slot, ByteView record) override;
  bool ic_serial_exists(ByteView serial) override;

  std::size_t writes() const;
  // Calls `f` with the stored cards under the lock, without copying them (checks that run
  // after every APDU, such as the fuzz target's store invariant).
  void inspect(const std::function<void(const std::vector<CardState>&)>& f) const;
  // The next write throws CardStoreError (tests of the 6581 path).
  void fail_next_write();

 private:
  CardState& at(int slot);
  void count_write();
  mutable std::mutex m_;
  std::vector<CardState> cards_;
  std::size_t writes_ = 0;
  bool fail_next_ = false;
};

}  // namespace sekds::card
