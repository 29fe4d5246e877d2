// GP data objects, part 2: KDD 'CF', sequence counter 'C1', URL '5F50', IIN '42', CIN '45',
// CPLC '9F7F' and card recognition data '66': both GET DATA forms, round trips, bad input.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>

#include "gp/data_objects.h"
#include "gp/error.h"

using namespace sekds;
using gp::Bytes;
using gp::Errc;
using gp::from_hex;
using gp::to_hex;

namespace {

void expect_error(const std::function<void()>& f, Errc code, const std::string& ctx, const std::string& says = "") {
  try {
    f();
    BOOST_ERROR(ctx << ": no error, expected " << gp::errc_name(code));
  } catch (const gp::GpError& e) {
    BOOST_TEST(std::string(e.name()) == gp::errc_name(code), ctx << ": " << e.what());
    if (!says.empty()) BOOST_TEST(std::string(e.what()).find(says) != std::string::npos, ctx << ": " << e.what());
  }
}

Bytes ascii(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace

BOOST_AUTO_TEST_SUITE(data_objects_misc)

BOOST_AUTO_TEST_CASE(kdd) {
  const Bytes ten = from_hex("00010203040506070809");
  auto a = gp::Kdd::parse(ten);
  auto b = gp::Kdd::parse(from_hex("CF0A00010203040506070809"));
  BOOST_TEST((a == b));
  BOOST_TEST(a.hex() == "00010203040506070809");
  BOOST_TEST(to_hex(a.encode()) == "CF0A00010203040506070809");
  BOOST_TEST((gp::Kdd::parse(a.encode()) == a));
  expect_error([] { gp::Kdd::parse(from_hex("000102030405060708")); }, Errc::InvalidLength, "9 bytes", "9 bytes");
  expect_error([] { gp::Kdd::parse(from_hex("CF09000102030405060708")); }, Errc::InvalidLength, "CF with 9", "got 9");
  expect_error([] { gp::Kdd::parse(from_hex("CF0A00010203040506070809 00")); }, Errc::TlvTrailingData, "trailing");
  expect_error([] { gp::Kdd::parse(from_hex("CF0B00010203040506070809")); }, Errc::TlvTruncated, "cut");
  expect_error([] { gp::Kdd::parse({}); }, Errc::InvalidLength, "empty");
  expect_error([] { gp::Kdd(Bytes(11, 0)); }, Errc::InvalidLength, "ctor 11");
}

BOOST_AUTO_TEST_CASE(sequence_counter) {
  auto s2 = gp::SequenceCounter::parse(from_hex("00C5"));
  BOOST_TEST(s2.value() == 0xC5u);
  BOOST_TEST(s2.is_scp02());
  BOOST_TEST((gp::SequenceCounter::parse(from_hex("C10200C5")) == s2));
  auto s3 = gp::SequenceCounter::parse(from_hex("C103 01 02 03"));
  BOOST_TEST(s3.value() == 0x010203u);
  BOOST_TEST(s3.width() == 3u);
  BOOST_TEST((gp::SequenceCounter::parse(from_hex("C10F00")).value() == 0xC10F00u));  // 3 bare bytes, even if they start with C1
  BOOST_TEST(to_hex(s3.encode()) == "C103010203");
  BOOST_TEST(to_hex(gp::SequenceCounter(0xFFFF, 2).value_bytes()) == "FFFF");
  BOOST_TEST((gp::SequenceCounter::parse(gp::SequenceCounter(7, 3).encode()) == gp::SequenceCounter(7, 3)));
  BOOST_TEST(!(gp::SequenceCounter(7, 3) == gp::SequenceCounter(7, 2)));
  expect_error([] { gp::SequenceCounter::parse(from_hex("05")); }, Errc::InvalidLength, "1 byte");
  expect_error([] { gp::SequenceCounter::parse(from_hex("00000005")); }, Errc::InvalidLength, "4 bare bytes");
  expect_error([] { gp::SequenceCounter::parse(from_hex("C1040000 0005")); }, Errc::InvalidLength, "C1 of 4", "got 4");
  expect_error([] { gp::SequenceCounter(0x10000, 2); }, Errc::InvalidArgument, "too big");
  expect_error([] { gp::SequenceCounter(1, 4); }, Errc::InvalidLength, "width 4");
}

BOOST_AUTO_TEST_CASE(url_accepts) {
  auto u = gp::SdManagerUrl::from_string("https://ttp.example.com/sekds/v1");
  BOOST_TEST(u.is_https());
  BOOST_TEST(u.host() == "ttp.example.com");
  BOOST_TEST(!u.port().has_value());
  BOOST_TEST(u.effective_port() == 443);
  BOOST_TEST(u.path() == "/sekds/v1");
  auto v = gp::SdManagerUrl::from_string("HTTP://127.0.0.1:8443?x=1");
  BOOST_TEST(v.scheme() == "http");
  BOOST_TEST(!v.is_https());
  BOOST_TEST(*v.port() == 8443);
  BOOST_TEST(v.path() == "/?x=1");
  auto w = gp::SdManagerUrl::from_string("https://[::1]:9443/sekds/v1");
  BOOST_TEST(w.host() == "[::1]");
  BOOST_TEST(w.effective_port() == 9443);
  BOOST_TEST(gp::SdManagerUrl::from_string("http://h").path() == "/");
  // both GET DATA forms, and the round trip
  const std::string s = "https://ttp.example.com:8443/sekds/v1";
  auto tagged = gp::SdManagerUrl::parse(gp::encode_tlv(0x5F50, ascii(s)));
  BOOST_TEST(tagged.str() == s);
  BOOST_TEST((gp::SdManagerUrl::parse(ascii(s)) == tagged));
  BOOST_TEST(to_hex(tagged.encode()) == "5F50" + to_hex(Bytes{static_cast<std::uint8_t>(s.size())}) + to_hex(ascii(s)));
  const std::string longest = "https://h/" + std::string(gp::SdManagerUrl::kMaxLength - 10, 'a');
  auto l = gp::SdManagerUrl::from_string(longest);
  BOOST_TEST(l.encode().size() == 256u);  // fills one short response exactly
  BOOST_TEST((gp::SdManagerUrl::parse(l.encode()) == l));
}

BOOST_AUTO_TEST_CASE(url_rejects) {
  const std::pair<std::string, std::string> bad[] = {
      {"ftp://ttp.example.com/", "scheme must be https or http"},
      {"ttp.example.com/sekds", "no scheme"},
      {"https://", "no host"},
      {"https:///path", "no host"},
      {"https://user:pw@ttp.example.com/", "user information"},
      {"https://ttp.example.com/a b", "not printable"},
      {"https://ttp.example.com/#top", "fragment"},
      {"https://ttp.example.com:0/", "outside 1-65535"},
      {"https://ttp.example.com:65536/", "outside 1-65535"},
      {"https://ttp.example.com:/", "empty port"},
      {"https://ttp.example.com:84x3/", "not a number"},
      {"https://ttp_example.com/", "not allowed in a host"},
      {"https://ttp.example.com/<script>", "not allowed in a URL"},
      {"https://[::1/", "without ']'"},
      {"https://[zz]/", "bad IPv6"},
      {"http://", "characters"},
      {"https://h/" + std::string(gp::SdManagerUrl::kMaxLength - 9, 'a'), "characters"},
  };
  for (const auto& [url, says] : bad)
    expect_error([u = url] { gp::SdManagerUrl::from_string(u); }, Errc::InvalidArgument, url, says);
  const Bytes nonascii = from_hex(to_hex(ascii("https://ttp.example.com/")) + "C3");
  expect_error([&] { gp::SdManagerUrl::parse(nonascii); }, Errc::InvalidArgument, "0xC3", "not printable ASCII");
  expect_error([] { gp::SdManagerUrl::parse(from_hex("5F50 05 6874")); }, Errc::TlvTruncated, "cut 5F50");
}

BOOST_AUTO_TEST_CASE(iin_and_cin) {
  auto iin = gp::IssuerIdentificationNumber::parse(from_hex("42 03 123456"));
  BOOST_TEST(to_hex(iin.value) == "123456");
  BOOST_TEST(to_hex(iin.encode()) == "4203123456");
  BOOST_TEST((gp::IssuerIdentificationNumber::parse(from_hex("123456")) == iin));
  // a bare value starting with the tag byte that is not one '42' object stays bare
  BOOST_TEST(to_hex(gp::IssuerIdentificationNumber::parse(from_hex("42 05 01")).value) == "420501");
  auto cin = gp::CardImageNumber::parse(from_hex("45 08 0102030405060708"));
  BOOST_TEST(cin.value.size() == 8u);
  BOOST_TEST((gp::CardImageNumber::parse(cin.encode()) == cin));
  expect_error([] { gp::CardImageNumber::parse({}); }, Errc::InvalidLength, "empty CIN", "CIN ('45')");
  expect_error([] { gp::IssuerIdentificationNumber::parse(from_hex("4200")); }, Errc::InvalidLength, "empty tagged IIN");
  expect_error([] { gp::IssuerIdentificationNumber::parse(Bytes(128, 0x11)); }, Errc::InvalidLength, "128 bytes");
  BOOST_TEST(gp::IssuerIdentificationNumber::parse(Bytes(127, 0x11)).value.size() == 127u);
}

BOOST_AUTO_TEST_CASE(cplc_fields_and_forms) {
  BOOST_TEST(gp::Cplc::fields().size() == 18u);
  gp::Cplc c;
  c.set_field(gp::CplcField::IcFabricator, from_hex("4790"));
  c.set_field(gp::CplcField::IcType, from_hex("5167"));
  c.set_field(gp::CplcField::OperatingSystemReleaseDate, from_hex("9123"));
  c.set_field(gp::CplcField::IcSerialNumber, from_hex("01020304"));
  c.set_field(gp::CplcField::IcPersonalizationEquipmentId, from_hex("A1A2A3A4"));
  c.set_field(gp::CplcField::IcPersonalizationDate, from_hex("4366"));
  const Bytes enc = c.encode();
  BOOST_TEST(enc.size() == 45u);
  BOOST_TEST(to_hex(Bytes(enc.begin(), enc.begin() + 3)) == "9F7F2A");
  auto back = gp::Cplc::parse(enc);
  BOOST_TEST((back == c));
  BOOST_TEST((gp::Cplc::parse(c.value()) == c));
  BOOST_TEST(to_hex(back.field(gp::CplcField::IcSerialNumber)) == "01020304");
  BOOST_TEST(to_hex(Bytes(enc.end() - 4, enc.end())) == "A1A2A3A4");  // the last field is last
  BOOST_TEST(std::string(gp::Cplc::info(gp::CplcField::IccManufacturer).name) == "icc_manufacturer");
  // dates
  auto d = back.date(gp::CplcField::OperatingSystemReleaseDate);
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(d->year_digit == 9);
  BOOST_TEST(d->day_of_year == 123);
  auto ymd = d->resolve(2026);
  BOOST_REQUIRE(ymd.has_value());
  BOOST_TEST(ymd->year == 2019);
  BOOST_TEST(ymd->month == 5);
  BOOST_TEST(ymd->day == 3);
  auto leap = back.date(gp::CplcField::IcPersonalizationDate)->resolve(2026);  // Y4 day 366: 2024-12-31
  BOOST_REQUIRE(leap.has_value());
  BOOST_TEST(leap->year == 2024);
  BOOST_TEST(leap->month == 12);
  BOOST_TEST(leap->day == 31);
  const gp::CplcDate d6_366{6, 366}, d6_1{6, 1}, d9_123{9, 123}, d0_7{0, 7};
  BOOST_TEST(!d6_366.resolve(2026).has_value());  // 2026 is not a leap year
  BOOST_TEST(d6_1.resolve(2026)->year == 2026);
  BOOST_TEST(!back.date(gp::CplcField::IcFabricationDate).has_value());  // 0000: not set
  BOOST_TEST(to_hex(d9_123.encode()) == "9123");
  BOOST_TEST((gp::CplcDate::decode(d0_7.encode()) == d0_7));
}

BOOST_AUTO_TEST_CASE(cplc_rejects) {
  expect_error([] { gp::Cplc::parse(Bytes(41, 0)); }, Errc::InvalidLength, "41 bytes", "got 41");
  expect_error([] { gp::Cplc::parse(Bytes(43, 0)); }, Errc::InvalidLength, "43 bytes");
  expect_error([] { gp::Cplc::parse(gp::encode_tlv(0x9F7F, Bytes(41, 0))); }, Errc::InvalidLength, "tagged 41", "got 41");
  expect_error([] { gp::Cplc::parse(gp::concat({gp::encode_tlv(0x9F7F, Bytes(42, 0)), from_hex("00")})); },
               Errc::TlvTrailingData, "trailing");
  gp::Cplc c;
  expect_error([&] { c.set_field(gp::CplcField::IcSerialNumber, from_hex("0102")); }, Errc::InvalidLength, "short serial");
  expect_error([&] { c.date(gp::CplcField::IcType); }, Errc::InvalidArgument, "not a date");
  expect_error([] { gp::CplcDate::decode(from_hex("1A00")); }, Errc::InvalidArgument, "not BCD");
  expect_error([] { gp::CplcDate::decode(from_hex("9367")); }, Errc::InvalidArgument, "day 367");
  expect_error([] { gp::CplcDate::decode(from_hex("9000")); }, Errc::InvalidArgument, "day 0");
  expect_error([] { gp::CplcDate{10, 1}.encode(); }, Errc::InvalidArgument, "year digit 10");
}

BOOST_AUTO_TEST_CASE(card_recognition_data_build_and_parse) {
  gp::CardRecognitionData c;
  c.gp_version = {2, 3, 1};
  c.card_identification_scheme = from_hex("2A864886FC6B03");
  c.scps = {{0x03, 0x70}, {0x02, 0x55}};
  c.card_configuration_details = from_hex("0603 2A0304");
  c.other.push_back(gp::Tlv::primitive(0x9F6E, from_hex("0102")));
  const Bytes enc = c.encode();
  auto back = gp::CardRecognitionData::parse(enc);
  BOOST_TEST((back == c));
  BOOST_TEST(back.gp_version_string() == "2.3.1");
  BOOST_TEST(!back.card_chip_details.has_value());
  // bare '73' is accepted too
  const auto outer = gp::parse_tlv(enc);
  BOOST_TEST((gp::CardRecognitionData::parse(outer.children.at(0).encode()) == c));
  // minimal: only the OID
  auto minimal = gp::CardRecognitionData::parse(from_hex("660B 7309 06072A864886FC6B01"));
  BOOST_TEST(minimal.gp_version_string().empty());
  BOOST_TEST(minimal.scps.empty());
  BOOST_TEST(to_hex(minimal.encode()) == "660B730906072A864886FC6B01");
}

BOOST_AUTO_TEST_CASE(card_recognition_data_rejects) {
  const std::pair<const char*, const char*> bad[] = {
      {"660B 7309 06072A864886FC6B02", "does not start with the OID"},
      {"6602 7300", "does not start with the OID"},
      {"6615 7309 06072A864886FC6B01 7308 06062A864886FC6B", "exactly one '73'"},
      {"7314 06072A864886FC6B01 6409 06072A864886FC6B04", "'64' is not {globalPlatform 4}"},
      {"7317 06072A864886FC6B01 640C 060A2A864886FC6B04027000", "'64' is not"},  // SCP + i + extra byte
      {"7313 06072A864886FC6B01 6008 06062A864886FC6B", "'60' is not"},
      {"7314 06072A864886FC6B01 6009 06072A864886FC6B02", "'60' is not"},          // no version bytes
      {"7318 06072A864886FC6B01 600D 06092A864886FC6B020202 0500", "exactly one OID"},
      {"7323 06072A864886FC6B01 600B 06092A864886FC6B020202 600B 06092A864886FC6B020202", "appears twice"},
  };
  for (const auto& [hex, says] : bad)
    expect_error([h = hex] { gp::CardRecognitionData::parse(from_hex(h)); }, Errc::InvalidArgument, hex, says);
  expect_error([] { gp::CardRecognitionData::parse(from_hex("6700")); }, Errc::TlvBadTag, "'67' outside");
  expect_error([] { gp::CardRecognitionData::parse(from_hex("6602 7301")); }, Errc::TlvBadLength, "cut inside");
  expect_error([] { gp::CardRecognitionData::parse(from_hex("660B 7309 06072A864886FC6B01 00")); }, Errc::TlvTrailingData,
               "trailing");
}

BOOST_AUTO_TEST_CASE(oids) {
  BOOST_TEST(gp::oid_to_string(from_hex("2A864886FC6B01")) == "1.2.840.114283.1");
  BOOST_TEST(gp::oid_to_string(from_hex("2B8510864864020103")) == "1.3.656.840.100.2.1.3");
  BOOST_TEST(gp::oid_to_string(from_hex("00")) == "0.0");
  BOOST_TEST(gp::oid_to_string(from_hex("8837")) == "2.999");
  expect_error([] { gp::oid_to_string({}); }, Errc::InvalidArgument, "empty");
  expect_error([] { gp::oid_to_string(from_hex("2A86")); }, Errc::InvalidArgument, "cut arc");
  expect_error([] { gp::oid_to_string(from_hex("2A8001")); }, Errc::InvalidArgument, "leading 80");
  expect_error([] { gp::oid_to_string(from_hex("2A 82808080808080808001")); }, Errc::InvalidArgument, "arc > 64 bits");
}

BOOST_AUTO_TEST_SUITE_END()
