// Card management commands of GlobalPlatform Card Specification 2.3.1 §11 as plain APDUs
// (the secure channel wraps them): GET STATUS (11.4), INSTALL (11.5), LOAD (11.6),
// DELETE (11.2), STORE DATA (11.11), and the parsing of GET STATUS answers (format P2=02,
// 'E3' entries). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gp/apdu.h"
#include "gp/bytes.h"

namespace sekds::tsm {

inline constexpr std::uint8_t kInsGetStatus = 0xF2;
inline constexpr std::uint8_t kInsInstall = 0xE6;
inline constexpr std::uint8_t kInsLoad = 0xE8;
inline constexpr std::uint8_t kInsDelete = 0xE4;
inline constexpr std::uint8_t kInsStoreData = 0xE2;
inline constexpr std::uint16_t kSwMoreData = 0x6310;  // GET STATUS: more entries follow

// GET STATUS P1: which part of the registry.
enum class RegistryKind : std::uint8_t {
  IssuerSecurityDomain = 0x80,
  Applications = 0x40,        // applications and supplementary security domains
  LoadFiles = 0x20,           // executable load files
  LoadFilesAndModules = 0x10, // executable load files and their executable modules
};
const char* registry_kind_name(RegistryKind k) noexcept;  // "ISD", "APP", "PKG", "PKG+MOD"

struct RegistryEntry {
  RegistryKind kind = RegistryKind::Applications;
  gp::Bytes aid;                         // '4F'
  std::uint8_t lifecycle = 0;            // '9F70'
  gp::Bytes privileges;                  // 'C5'
  std::optional<gp::Bytes> load_file_aid;  // 'C4' (applications)
  std::optional<gp::Bytes> version;        // 'CE' (load files)
  std::vector<gp::Bytes> modules;          // '84' (load files with modules)
  std::optional<gp::Bytes> security_domain;  // 'CC' associated SD
};

// GET STATUS, GP TLV format (P2 = 02, | 01 for the next occurrence), search '4F' + prefix
// (an empty prefix = every entry).
gp::CommandApdu get_status_command(RegistryKind kind, bool next, gp::ByteView aid_prefix = {});
// The 'E3' entries of one answer. Throws GpError (TLV errors, a missing '4F').
std::vector<RegistryEntry> parse_get_status(RegistryKind kind, gp::ByteView data);
nlohmann::ordered_json registry_json(const std::vector<RegistryEntry>& entries);
std::string lifecycle_name(RegistryKind kind, std::uint8_t lifecycle);

// INSTALL [for load] (P1 02): package AID, the SD to load into (empty: the ISD), no hash,
// no parameters, no token.
gp::CommandApdu install_for_load(gp::ByteView package_aid, gp::ByteView sd_aid = {});
// INSTALL [for install and make selectable] (P1 0C).
gp::CommandApdu install_for_install(gp::ByteView package_aid, gp::ByteView module_aid, gp::ByteView instance_aid,
                                    gp::ByteView privileges = gp::Bytes{0x00}, gp::ByteView install_params = {});
// DELETE '4F' AID (P2 80: with related objects).
gp::CommandApdu delete_command(gp::ByteView aid, bool related = false);

// The load file data block to send: a file that already is one ('C4' L ... exactly, optionally
// after 'E2' DAP blocks) as it is; CAP components are wrapped in 'C4' L.
gp::Bytes load_file_data_block(gp::ByteView file);
// The package AID from the CAP Header component (tag 01). Throws GpError(InvalidArgument).
gp::Bytes package_aid_of(gp::ByteView load_file);
// LOAD commands: blocks of at most `block_size` bytes, P1 80 on the last, P2 the block number.
std::vector<gp::CommandApdu> load_commands(gp::ByteView data_block, std::size_t block_size);
// STORE DATA commands: blocks of at most `block_size`, P1 b8 on the last, P2 the block number.
std::vector<gp::CommandApdu> store_data_commands(gp::ByteView data, std::size_t block_size);

}  // namespace sekds::tsm
