// Card Production Life Cycle data, tag '9F7F' (GlobalPlatform Card Specification v2.1.1
// Appendix H.6 / Visa GP): 42 bytes in 18 fixed fields. Dates are 2-byte BCD "YDDD": the
// last digit of the year and the day of that year (001-366); 0000 means "not set".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "gp/bytes.h"
#include "gp/tlv.h"

namespace sekds::gp {

inline constexpr Tag kTagCplc = 0x9F7F;

enum class CplcField {
  IcFabricator,
  IcType,
  OperatingSystemId,
  OperatingSystemReleaseDate,
  OperatingSystemReleaseLevel,
  IcFabricationDate,
  IcSerialNumber,
  IcBatchIdentifier,
  IcModuleFabricator,
  IcModulePackagingDate,
  IccManufacturer,
  IcEmbeddingDate,
  IcPrePersonalizer,
  IcPrePersonalizationDate,
  IcPrePersonalizationEquipmentId,
  IcPersonalizer,
  IcPersonalizationDate,
  IcPersonalizationEquipmentId,
};

struct CplcFieldInfo {
  CplcField field;
  const char* name;  // "ic_fabricator", ... (the JSON key)
  std::size_t offset;
  std::size_t length;
  bool is_date;
};

// A YDDD date. The year is known only modulo 10.
struct CplcDate {
  std::uint8_t year_digit = 0;     // 0-9
  std::uint16_t day_of_year = 1;   // 1-366

  // nullopt for 0000 (not set); GpError(InvalidArgument) for non-BCD or day 0 / > 366.
  static std::optional<CplcDate> decode(ByteView two_bytes);
  std::array<std::uint8_t, 2> encode() const;
  // The latest year <= not_after whose last digit matches, as {year, month, day};
  // nullopt when day 366 falls in a non-leap year.
  struct Ymd {
    int year, month, day;
  };
  std::optional<Ymd> resolve(int not_after) const;
  std::string to_string() const;  // "Y5 day 123"
  friend bool operator==(const CplcDate&, const CplcDate&) = default;
};

class Cplc {
 public:
  static constexpr std::size_t kLength = 42;
  static std::span<const CplcFieldInfo> fields() noexcept;
  static const CplcFieldInfo& info(CplcField f) noexcept;

  Cplc() = default;  // all zeros
  // GET DATA '9F7F': '9F7F 2A' + 42 bytes, or the 42 bytes alone.
  static Cplc parse(ByteView data);

  ByteView field(CplcField f) const noexcept;
  void set_field(CplcField f, ByteView v);  // GpError(InvalidLength) if the size differs
  // For the date fields; GpError(InvalidArgument) for a field that is not a date.
  std::optional<CplcDate> date(CplcField f) const;

  ByteView value() const noexcept { return {raw_.data(), raw_.size()}; }
  Bytes encode() const;  // '9F7F 2A' + value
  friend bool operator==(const Cplc&, const Cplc&) = default;

 private:
  std::array<std::uint8_t, kLength> raw_{};
};

}  // namespace sekds::gp
