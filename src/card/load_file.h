// Java Card load files as the card sees them in LOAD: the load file data block ('C4') holds
// the CAP components of one package concatenated (Java Card VM spec 3.0.5 §6: each component
// is tag u1, size u2, info[size]). The card reads just enough to register the package: the
// Header component (tag 1: magic DECAFFED, CAP version, flags, package version and AID) and
// the Applet component (tag 3: the applet AIDs, which become executable modules).
//
// make_load_file() builds a synthetic but well-formed file of a requested size (Header,
// Applet, and a Method component filled with small methods) so the TSM and the demo have
// something to load without a Java Card toolchain.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "gp/bytes.h"

namespace sekds::card {

using gp::Bytes;
using gp::ByteView;

inline constexpr std::uint8_t kCapHeader = 1;
inline constexpr std::uint8_t kCapDirectory = 2;
inline constexpr std::uint8_t kCapApplet = 3;
inline constexpr std::uint8_t kCapMethod = 7;
inline constexpr std::uint32_t kCapMagic = 0xDECAFFED;

// A load file (or load file data block) that is not what it claims to be.
class LoadFileError : public std::runtime_error {
 public:
  LoadFileError(const std::string& what, std::size_t offset);
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

struct LoadFileInfo {
  Bytes package_aid;
  std::uint8_t major = 0, minor = 0;  // package version
  std::vector<Bytes> applet_aids;
  std::vector<std::uint8_t> component_tags;  // in file order
};

// The concatenated components. Throws LoadFileError naming the offset: truncated component,
// component tag 0 or above 12, repeated component, bad magic, AIDs outside 5..16 bytes,
// no Header component, bytes after the Applet list.
LoadFileInfo parse_load_file(ByteView components);

// The LOAD data as a whole: optional 'E2' DAP blocks, then 'C4' L components (the length
// must end exactly at the end). Returns the components.
ByteView load_file_data_block_components(ByteView block);
// 'C4' L components.
Bytes make_load_file_data_block(ByteView components);

struct LoadFileSpec {
  Bytes package_aid;              // 5..16 bytes
  std::vector<Bytes> applet_aids; // each 5..16 bytes; may be empty (a library package)
  std::size_t size = 0;           // total bytes of the file; 0 = the smallest well-formed file
  std::uint8_t major = 1, minor = 0;
};
// Smallest size make_load_file() can produce for this package and applets.
std::size_t min_load_file_size(const LoadFileSpec& spec);
// Throws std::invalid_argument naming the problem (AID length, size too small or above 1 MiB).
Bytes make_load_file(const LoadFileSpec& spec);

}  // namespace sekds::card
