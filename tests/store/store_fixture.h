// Helpers for the store tests: a throwaway directory with a real SQLite file, raw SQL
// access (to tamper with the database the way an attacker with the file would), and
// well-formed sample entities.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite_store.h"

namespace sekds::test {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A store on <tempdir>/sekds.db.
struct StoreFixture {
  StoreFixture();
  explicit StoreFixture(const store::SqliteOptions& options);
  TempDir dir;
  std::filesystem::path db;
  std::unique_ptr<store::SqliteStore> store;
};

// Runs SQL on the file through its own connection (no store involved). Throws
// std::runtime_error with SQLite's message on failure.
void raw_exec(const std::filesystem::path& db, const std::string& sql);
// First column of the first row as text ("" when no row / NULL).
std::string raw_query(const std::filesystem::path& db, const std::string& sql);

inline const store::AuditContext kOperator{"alice", std::nullopt};

store::IssuerSpec sample_issuer(const std::string& name = "acme", const std::string& iin = "42A1B2");
store::KeySetSpec sample_key_set(const std::string& issuer = "acme", std::uint8_t kvn = 0x30);
store::KeySetSpec sample_scp02_key_set(const std::string& issuer = "acme", std::uint8_t kvn = 0x20);
store::TsmSpec sample_tsm(const std::string& name = "tsm1", char fill = 'A');
store::KekSpec sample_kek(const std::string& tsm = "tsm1", std::uint32_t index = 1);
gp::Bytes sample_kdd(std::uint8_t last = 0x01);
store::AuditRecord sample_release(const std::string& actor = "tsm1", std::uint8_t kdd_last = 0x01);

}  // namespace sekds::test
