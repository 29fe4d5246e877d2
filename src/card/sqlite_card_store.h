// A grid of cards in one SQLite file: WAL, synchronous=NORMAL (a virtual card may lose its
// last writes on power loss, never on a crash of the process), one connection behind a mutex,
// prepared statements reused. Each state change is one small transaction; nothing is written
// per APDU. The file (created 0600) holds the cards' static keys in clear: it is demo
// material, like a real card's EEPROM, and `list` never shows them.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "card/card_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace sekds::card {

class SqliteCardStore final : public CardStore {
 public:
  // Opens or creates the file and its schema. Throws CardStoreError naming the file.
  explicit SqliteCardStore(const std::string& path);
  ~SqliteCardStore() override;
  SqliteCardStore(const SqliteCardStore&) = delete;
  SqliteCardStore& operator=(const SqliteCardStore&) = delete;

  std::vector<CardState> load_all() override;
  void add_cards(std::vector<CardState>& cards) override;
  void save_counter(int slot, std::uint8_t kvn, std::uint32_t counter) override;
  void save_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn) override;
  void save_registry(int slot, const Registry& registry) override;
  void append_store_data(int slot, ByteView record) override;

  bool ic_serial_exists(ByteView serial) override;
  bool kdd_exists(ByteView kdd);
  const std::string& path() const noexcept { return path_; }

 private:
  class Stmt;
  class Transaction;
  sqlite3_stmt* prepare(const char* sql);
  void close() noexcept;
  void exec(const char* sql);
  [[noreturn]] void fail(const std::string& what) const;
  void write_key_sets(int slot, const KeySets& key_sets, std::uint8_t default_kvn);
  void write_registry(int slot, const Registry& registry);

  std::string path_;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;  // by SQL literal; used under m_
  std::mutex m_;
};

}  // namespace sekds::card
