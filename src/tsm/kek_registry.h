// The TSM's record of the KEKs it imported: index, token label, algorithm and the KCV computed
// at import (AES GP convention: first 3 bytes of AES-ECB(KEK, 16 x 01)). The TSM's copy of a
// KEK can only unwrap, so its KCV cannot be recomputed in the token later; this record is what
// every KekKcv the TTP sends is checked against.
//
// Stored as a small JSON file (default: kek-state.json beside the configuration), written
// atomically (temp file + rename, mode 0600). It holds no secret.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"

namespace sekds::tsm {

struct KekRecord {
  std::uint32_t index = 0;
  std::string label;      // CKA_LABEL in the TSM's token
  std::string algorithm;  // AES128 | AES192 | AES256
  gp::Bytes kcv;          // 3 bytes, AES GP convention
  std::string tsm;        // the TSM name the components were made for
  std::string imported_at;  // RFC 3339 UTC
};

// Token label of the TSM's copy of KEK `index`.
std::string tsm_kek_label(std::uint32_t index);

class KekRegistry {
 public:
  // Reads `file` (a missing file is an empty registry). Throws TsmError(Config) if unreadable
  // or malformed.
  static KekRegistry load(const std::filesystem::path& file);

  const std::vector<KekRecord>& records() const noexcept { return records_; }
  const KekRecord* find(std::uint32_t index) const noexcept;
  // Adds a record and writes the file atomically. Throws TsmError(Config) on a duplicate
  // index or a write failure (the file is then unchanged).
  void add(KekRecord record);
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  void save() const;
  std::filesystem::path file_;
  std::vector<KekRecord> records_;
};

// "2026-11-26T08:00:00Z"
std::string utc_now_rfc3339();

}  // namespace sekds::tsm
