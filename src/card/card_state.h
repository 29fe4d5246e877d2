// The persistent state of one virtual secure element: what the issuer personalised (KDD,
// CPLC, IIN, CIN, TTP URL, secure channel protocol), its key sets with their sequence
// counters, the GlobalPlatform registry (executable load files and applications) and the
// STORE DATA records. Plain data: the engine (card.h) changes it, a CardStore keeps it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gp/bytes.h"
#include "gp/diversification.h"
#include "gp/key_type.h"
#include "gp/scp_common.h"

namespace sekds::card {

using gp::Bytes;
using gp::ByteView;

// The Issuer Security Domain's AID (GlobalPlatform's default ISD AID).
inline const Bytes kIsdAid{0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00};

// Life cycle states (GP 2.3.1 §5.1 and Table 11-5 GET STATUS coding).
namespace lifecycle {
inline constexpr std::uint8_t kCardOpReady = 0x01;
inline constexpr std::uint8_t kCardInitialized = 0x07;
inline constexpr std::uint8_t kCardSecured = 0x0F;
inline constexpr std::uint8_t kCardLocked = 0x7F;
inline constexpr std::uint8_t kLoaded = 0x01;      // executable load file
inline constexpr std::uint8_t kInstalled = 0x03;   // application / security domain
inline constexpr std::uint8_t kSelectable = 0x07;
inline constexpr std::uint8_t kLocked = 0x83;      // application locked (b8 set)
}  // namespace lifecycle

// Privileges of the ISD (GP 2.3.1 Table 6-1, three bytes): Security Domain, Delegated
// Management off, Card Lock, Card Terminate, Card Reset, CVM Management; Trusted Path,
// Authorized Management, Token Verification, Global Delete, Global Lock, Global Registry,
// Final Application; Receipt Generation.
inline const Bytes kIsdPrivileges{0x9E, 0xFE, 0x80};

// Bounds that keep one card's memory use small whatever a client sends.
struct CardLimits {
  std::size_t max_key_sets = 8;
  std::size_t max_load_files = 16;
  std::size_t max_applications = 32;
  std::size_t max_load_file_size = 64 * 1024;   // the 'C4' load file data block, all LOAD blocks
  std::size_t max_modules_per_load_file = 8;     // keeps a GET STATUS entry within one response
  std::size_t max_store_data_message = 4096;    // one STORE DATA message (all its blocks)
  std::size_t max_store_data_total = 16 * 1024; // all STORE DATA kept by one card
  std::size_t max_store_data_records = 64;
};

struct KeySet {
  std::uint8_t kvn = 0;
  gp::KeyType type = gp::KeyType::Des2;
  gp::StaticKeys keys;  // ENC, MAC, DEK: key identifiers 1, 2, 3
  // Secure channel sequence counter of this key set (2 bytes in SCP02, 3 in SCP03). A key
  // set that is put starts from zero.
  std::uint32_t counter = 0;
};

using KeySets = std::map<std::uint8_t, KeySet>;  // by KVN

struct LoadFile {
  Bytes aid;                  // the package AID (CAP Header component)
  std::uint8_t lifecycle = lifecycle::kLoaded;
  Bytes version;              // major, minor of the package (GET STATUS 'CE')
  std::vector<Bytes> modules; // executable module (applet) AIDs
  std::uint32_t size = 0;     // bytes of the load file data block
};

struct Application {
  Bytes aid;
  Bytes load_file_aid;
  Bytes module_aid;
  Bytes privileges;  // 3 bytes
  std::uint8_t lifecycle = lifecycle::kInstalled;
  bool selectable() const noexcept { return lifecycle == lifecycle::kSelectable; }
};

struct Registry {
  std::vector<LoadFile> load_files;     // in load order
  std::vector<Application> applications;  // in install order

  const LoadFile* find_load_file(ByteView aid) const noexcept;
  const Application* find_application(ByteView aid) const noexcept;
  Application* find_application(ByteView aid) noexcept;
  friend bool operator==(const Registry&, const Registry&) = default;
};
bool operator==(const LoadFile& a, const LoadFile& b);
bool operator==(const Application& a, const Application& b);

// What personalisation writes once.
struct CardIdentity {
  Bytes kdd;        // 10 bytes, GET DATA 'CF'
  Bytes cplc;       // 42 bytes, GET DATA '9F7F'
  Bytes iin;        // GET DATA '42'
  Bytes cin;        // GET DATA '45'
  std::string url;  // GET DATA '5F50' (the TTP)
  gp::Scp scp = gp::Scp::Scp03;
  std::uint8_t i = 0x70;
  // The lowest security level of a session that may PUT KEY, LOAD, INSTALL or DELETE: every
  // bit of it must be in the session's level (11 does not satisfy 03). The default, C-MAC,
  // keeps a level-00 session (authenticated, then plain commands anyone on the line can
  // alter or inject) from changing keys or content.
  gp::SecurityLevel management_level = gp::SecurityLevel(gp::SecurityLevel::kCMac);
};

struct CardState {
  int slot = 0;  // 0 until a CardStore assigns one
  CardIdentity identity;
  std::uint8_t isd_lifecycle = lifecycle::kCardSecured;
  KeySets key_sets;
  std::uint8_t default_kvn = 0;              // the key set INITIALIZE UPDATE with KVN 00 uses
  Registry registry;
  std::vector<Bytes> store_data;  // one record per STORE DATA message

  const KeySet* default_key_set() const noexcept;
  std::size_t store_data_bytes() const noexcept;
};

// The key types a card with this protocol can open a channel with.
bool key_type_fits(gp::Scp scp, gp::KeyType type) noexcept;
// Width in bytes of the sequence counter ('C1'): 2 for SCP02, 3 for SCP03.
std::size_t counter_width(gp::Scp scp) noexcept;

}  // namespace sekds::card
