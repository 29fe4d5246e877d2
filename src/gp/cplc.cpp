#include "gp/cplc.h"

#include <algorithm>

#include "gp/error.h"

namespace sekds::gp {

namespace {

constexpr std::array<CplcFieldInfo, 18> kFields{{
    {CplcField::IcFabricator, "ic_fabricator", 0, 2, false},
    {CplcField::IcType, "ic_type", 2, 2, false},
    {CplcField::OperatingSystemId, "operating_system_id", 4, 2, false},
    {CplcField::OperatingSystemReleaseDate, "operating_system_release_date", 6, 2, true},
    {CplcField::OperatingSystemReleaseLevel, "operating_system_release_level", 8, 2, false},
    {CplcField::IcFabricationDate, "ic_fabrication_date", 10, 2, true},
    {CplcField::IcSerialNumber, "ic_serial_number", 12, 4, false},
    {CplcField::IcBatchIdentifier, "ic_batch_identifier", 16, 2, false},
    {CplcField::IcModuleFabricator, "ic_module_fabricator", 18, 2, false},
    {CplcField::IcModulePackagingDate, "ic_module_packaging_date", 20, 2, true},
    {CplcField::IccManufacturer, "icc_manufacturer", 22, 2, false},
    {CplcField::IcEmbeddingDate, "ic_embedding_date", 24, 2, true},
    {CplcField::IcPrePersonalizer, "ic_pre_personalizer", 26, 2, false},
    {CplcField::IcPrePersonalizationDate, "ic_pre_personalization_date", 28, 2, true},
    {CplcField::IcPrePersonalizationEquipmentId, "ic_pre_personalization_equipment_id", 30, 4, false},
    {CplcField::IcPersonalizer, "ic_personalizer", 34, 2, false},
    {CplcField::IcPersonalizationDate, "ic_personalization_date", 36, 2, true},
    {CplcField::IcPersonalizationEquipmentId, "ic_personalization_equipment_id", 38, 4, false},
}};

constexpr bool fields_tile_the_value() {
  std::size_t next = 0;
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].offset != next || static_cast<std::size_t>(kFields[i].field) != i) return false;
    next += kFields[i].length;
  }
  return next == Cplc::kLength;
}
static_assert(fields_tile_the_value());

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::optional<CplcDate> CplcDate::decode(ByteView b) {
  if (b.size() != 2) throw GpError(Errc::InvalidLength, "CPLC date must be 2 bytes, got " + std::to_string(b.size()));
  if (b[0] == 0 && b[1] == 0) return std::nullopt;
  const int d[4] = {b[0] >> 4, b[0] & 0x0F, b[1] >> 4, b[1] & 0x0F};
  for (int x : d)
    if (x > 9) throw GpError(Errc::InvalidArgument, "CPLC date " + to_hex(b) + " is not BCD YDDD");
  const int day = d[1] * 100 + d[2] * 10 + d[3];
  if (day < 1 || day > 366) throw GpError(Errc::InvalidArgument, "CPLC date " + to_hex(b) + " has day " + std::to_string(day));
  return CplcDate{static_cast<std::uint8_t>(d[0]), static_cast<std::uint16_t>(day)};
}

std::array<std::uint8_t, 2> CplcDate::encode() const {
  if (year_digit > 9 || day_of_year < 1 || day_of_year > 366)
    throw GpError(Errc::InvalidArgument, "CPLC date out of range: " + to_string());
  const unsigned d = day_of_year;
  return {static_cast<std::uint8_t>((year_digit << 4) | (d / 100)),
          static_cast<std::uint8_t>((((d / 10) % 10) << 4) | (d % 10))};
}

std::optional<CplcDate::Ymd> CplcDate::resolve(int not_after) const {
  int year = not_after - (((not_after % 10) - year_digit + 10) % 10);
  if (day_of_year == 366 && !is_leap(year)) return std::nullopt;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int left = day_of_year;
  for (int m = 0; m < 12; ++m) {
    const int n = kDays[m] + (m == 1 && is_leap(year) ? 1 : 0);
    if (left <= n) return Ymd{year, m + 1, left};
    left -= n;
  }
  return std::nullopt;
}

std::string CplcDate::to_string() const {
  return "Y" + std::to_string(year_digit) + " day " + std::to_string(day_of_year);
}

std::span<const CplcFieldInfo> Cplc::fields() noexcept { return {kFields.data(), kFields.size()}; }

const CplcFieldInfo& Cplc::info(CplcField f) noexcept { return kFields[static_cast<std::size_t>(f)]; }

Cplc Cplc::parse(ByteView data) {
  // 42 bytes are the bare value; anything else must be the '9F7F' object.
  Bytes v = data.size() == kLength ? to_bytes(data) : strip_outer_tag(kTagCplc, data);
  if (v.size() == data.size() && data.size() != kLength)
    throw GpError(Errc::InvalidLength, "CPLC must be 42 bytes or '9F7F 2A' + 42 bytes, got " + std::to_string(data.size()) + " bytes");
  if (v.size() != kLength)
    throw GpError(Errc::InvalidLength, "CPLC value must be 42 bytes, got " + std::to_string(v.size()));
  Cplc c;
  std::copy(v.begin(), v.end(), c.raw_.begin());
  return c;
}

ByteView Cplc::field(CplcField f) const noexcept {
  const auto& i = info(f);
  return ByteView(raw_.data() + i.offset, i.length);
}

void Cplc::set_field(CplcField f, ByteView v) {
  const auto& i = info(f);
  if (v.size() != i.length)
    throw GpError(Errc::InvalidLength, std::string("CPLC ") + i.name + " is " + std::to_string(i.length) + " bytes, got " +
                                           std::to_string(v.size()));
  std::copy(v.begin(), v.end(), raw_.begin() + static_cast<std::ptrdiff_t>(i.offset));
}

std::optional<CplcDate> Cplc::date(CplcField f) const {
  if (!info(f).is_date) throw GpError(Errc::InvalidArgument, std::string("CPLC ") + info(f).name + " is not a date");
  return CplcDate::decode(field(f));
}

Bytes Cplc::encode() const { return encode_tlv(kTagCplc, value()); }

}  // namespace sekds::gp
