// The text form of one custodian's key component sheet (dual control, DESIGN §4).
//
// A key is split into 2 or 3 XOR components; each custodian receives one sheet. The admin CLI
// writes these for KEK ceremonies (`kek generate`) and reads them for master-key imports
// (`keyset import`); the TSM client reads KEK sheets to import its copy of a KEK. Pure: strings
// in and out, no file I/O.
//
//   # sekds key component: KEK for TSM tsm1, index 1 -- custodian 1 of 2.   <- '#' comments
//   # Hand this sheet to custodian 1 only. ...
//   format: sekds-key-component/1
//   purpose: kek                       kek | master-key
//   tsm: tsm1                          kek: the TSM name          (required for kek)
//   kek-index: 1                       kek: the KEK index, decimal (required for kek)
//   issuer: bank                       master-key: issuer name    (required for master-key)
//   kvn: 1                             master-key: key set version, decimal 1..255
//   key-type: AES256                   DES2 DES3 AES128 AES192 AES256
//   custodian: 1 of 2                  this sheet's number, of 2 or 3 custodians
//   kcv-convention: AES-ECB-01         DES3-ECB-ZERO (DES keys) | AES-ECB-01 | AES-CMAC-ZERO
//   component: 0123 4567 ...           hex, any spacing between byte pairs
//   component-kcv: 1A2B3C              KCV of this component alone (3..16 bytes)
//   combined-kcv: 4D5E6F               optional: KCV of the combined key (all components XORed)
//
// A per-role master key set (one key each for ENC, MAC, DEK) suffixes the last three fields with
// the role: `component.enc`, `component-kcv.enc`, `combined-kcv.enc`, then `.mac`, `.dek` — all
// three roles, or no suffix at all (one key). Names are case-sensitive; blank lines and '#'
// comments are ignored; unknown or repeated fields are refused. KCV conventions are those of
// gp/kcv.h: DES3-ECB-ZERO = first bytes of 3DES-ECB(key, 8 x 00); AES-ECB-01 = first bytes of
// AES-ECB(key, 16 x 01) (GlobalPlatform); AES-CMAC-ZERO = first bytes of AES-CMAC(key, 16 x 00).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gp/bytes.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "gp/key_type.h"

namespace sekds::gp {

// Sheets are gp::SecureText (gp/bytes.h): wiped, locked, never in a string's inline buffer.

inline constexpr std::string_view kKeyComponentFormat = "sekds-key-component/1";

enum class ComponentPurpose { Kek, MasterKey };
const char* component_purpose_name(ComponentPurpose p) noexcept;  // "kek", "master-key"

// One key's component on the sheet: a single key (role unset) or one role of a per-role set.
struct ComponentShare {
  std::optional<KeyRole> role;
  SecureBytes value;                 // key_length(key_type) bytes
  Bytes kcv;                         // KCV of `value` in the sheet's convention
  std::optional<Bytes> combined_kcv; // KCV of the combined key, when the sheet carries it
};

struct ComponentSheet {
  ComponentPurpose purpose = ComponentPurpose::Kek;
  std::string tsm;                       // Kek
  std::optional<std::uint32_t> kek_index;  // Kek
  std::string issuer;                    // MasterKey
  std::optional<unsigned> kvn;           // MasterKey
  KeyType key_type = KeyType::Aes256;
  KcvAlg kcv_alg = KcvAlg::AesGp;
  unsigned custodian = 1;   // 1..custodians
  unsigned custodians = 2;  // 2 or 3
  std::vector<std::string> comments;   // written as '#' lines at the top (e.g. "DEMO ONLY")
  std::vector<ComponentShare> shares;  // one (no role) or three (ENC, MAC, DEK in that order)

  bool per_role() const noexcept { return shares.size() == 3; }
  const ComponentShare* share(std::optional<KeyRole> role) const noexcept;
};

// The sheet as text (ends with a newline). Throws GpError(InvalidArgument) for a component that
// parse_key_component would refuse (so every written sheet reads back). Does not check KCVs.
SecureText format_key_component(const ComponentSheet& c);

// Parses a sheet; throws GpError (InvalidArgument, InvalidHex, InvalidLength) naming the line
// and field. Syntax and consistency only: the KCVs are NOT checked here (see
// check_component_kcvs) so a caller can report a mismatch as such.
ComponentSheet parse_key_component(std::string_view text);

// Recomputes each share's KCV from its value; throws GpError(KcvMismatch) naming the first share
// ("component (ENC): KCV is ..., the sheet says ...").
void check_component_kcvs(const ComponentSheet& c);

// XOR of the given shares' values; all must be as long as the first.
SecureBytes xor_shares(const std::vector<const ComponentShare*>& shares);

}  // namespace sekds::gp
