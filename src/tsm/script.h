// Step 8: a management script run through the open secure channel.
//
// One command per line; '#' starts a comment (to the end of the line); blank lines are skipped.
//   80CA00CF00                 a plain APDU in hex (spaces between bytes allowed), sent wrapped;
//   80CA00FE00 -> 6A88         ... with the status word it must answer (X = any digit: 61XX);
//                              without "->" it must answer 9000
//   get-status                 GET STATUS of the ISD, applications, load files (6310 paging)
//   load FILE                  INSTALL [for load] + LOAD of every block (FILE: binary, or hex text;
//                              CAP components or a 'C4' load file data block; relative to the script)
//   install PACKAGE APPLET INSTANCE   INSTALL [for install and make selectable]
//   delete AID                 DELETE (related objects too with: delete AID related)
//   store-data HEX             STORE DATA in as many blocks as needed
// Parsing checks everything (hex, AIDs 5..16 bytes, files readable) before anything is sent.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gp/apdu.h"
#include "tsm/gp_commands.h"

namespace sekds::tsm {

class Session;

// A status word pattern: four hex digits, 'X' for any digit.
struct SwPattern {
  std::uint16_t value = 0x9000;
  std::uint16_t mask = 0xFFFF;  // bits that must match
  static SwPattern parse(std::string_view text);  // throws TsmError(Usage)
  bool matches(std::uint16_t sw) const noexcept { return (sw & mask) == (value & mask); }
  std::string text() const;
};

struct ScriptCommand {
  enum class Kind { Apdu, GetStatus, Load, Install, Delete, StoreData };
  Kind kind = Kind::Apdu;
  int line = 0;
  std::string text;  // the line as written (for reports), without the comment
  gp::CommandApdu apdu;       // Apdu
  SwPattern expect;           // Apdu
  std::filesystem::path file; // Load
  gp::Bytes load_file;        // Load: the file's bytes
  gp::Bytes aid1, aid2, aid3; // Install: package applet instance; Delete: aid1
  bool related = false;       // Delete
  gp::Bytes data;             // StoreData
};

struct Script {
  std::string name;
  std::vector<ScriptCommand> commands;
  // Throws TsmError(Usage) "SCRIPT:LINE: what is wrong". Files are read from `base_dir`.
  static Script parse(std::string_view text, const std::filesystem::path& base_dir, const std::string& name = "script");
  static Script load(const std::filesystem::path& file);
};

struct ScriptResult {
  int line = 0;
  std::string text;
  std::uint16_t sw = 0x9000;
  gp::Bytes data;                       // Apdu: response data
  std::vector<RegistryEntry> registry;  // GetStatus
  std::string detail;                   // "9 blocks, 9312 bytes" ...
  std::chrono::microseconds duration{0};
};

// Runs every command; stops at the first failure with TsmError naming "SCRIPT:LINE".
std::vector<ScriptResult> run_script(Session& session, const Script& script);
nlohmann::ordered_json script_results_json(const std::vector<ScriptResult>& results);

}  // namespace sekds::tsm
