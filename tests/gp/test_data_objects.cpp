// GP data objects, part 1: the public vectors (tests/vectors/gp_data_objects.json) and the
// Key Information Template 'E0' with the helpers a key server uses.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>

#include "gp/data_objects.h"
#include "gp/error.h"
#include "support/vectors.h"

using namespace sekds;
using gp::Bytes;
using gp::Errc;
using gp::from_hex;
using gp::KeyInformation;
using gp::to_hex;

BOOST_TEST_DONT_PRINT_LOG_VALUE(gp::KeyType)
BOOST_TEST_DONT_PRINT_LOG_VALUE(gp::KeySetProblem)

namespace {

void expect_error(const std::function<void()>& f, Errc code, std::optional<std::size_t> offset, const std::string& ctx) {
  try {
    f();
    BOOST_ERROR(ctx << ": no error, expected " << gp::errc_name(code));
  } catch (const gp::GpError& e) {
    BOOST_TEST(std::string(e.name()) == gp::errc_name(code), ctx << ": " << e.what());
    if (offset) {
      BOOST_TEST(e.offset().has_value(), ctx << ": no offset in " << e.what());
      if (e.offset()) BOOST_TEST(*e.offset() == *offset, ctx << ": " << e.what());
    }
  }
}

void check_expected_key(const nlohmann::json& want, const gp::KeyInformationData& k) {
  for (auto it = want.begin(); it != want.end(); ++it) {
    const std::string f = it.key();
    if (f == "kid") BOOST_TEST(k.key_id == it->get<int>());
    else if (f == "kvn") BOOST_TEST(k.kvn == it->get<int>());
    else if (f == "type") BOOST_TEST(k.type() == it->get<int>());
    else if (f == "length") BOOST_TEST(k.length() == it->get<int>());
    else if (f == "extended") BOOST_TEST(k.extended == it->get<bool>());
    else BOOST_ERROR("vector expects an unknown key field '" << f << "'");
  }
  if (!want.contains("extended")) BOOST_TEST(!k.extended);
}

// The only re-encoding difference allowed: 'FF' prefixes added to components the card
// wrote bare (see key_information.h).
void check_key_info_reencoding(const Bytes& data, const KeyInformation& ki) {
  const auto orig = gp::parse_tlv(data).children;
  BOOST_REQUIRE(orig.size() == ki.keys.size());
  for (std::size_t i = 0; i < orig.size(); ++i) {
    const Bytes canon = ki.keys[i].encode_value();
    if (canon == orig[i].value) continue;
    BOOST_TEST(ki.keys[i].extended, "entry " << i << " re-encodes differently");
    BOOST_TEST(canon.size() > orig[i].value.size());
    BOOST_TEST(canon.size() - orig[i].value.size() < ki.keys[i].components.size(), "entry " << i);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(data_objects_vectors)

BOOST_AUTO_TEST_CASE(gp_data_objects_json) {
  auto j = test::load_vectors("gp_data_objects.json");
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i++)) {
      const Bytes data = test::hex_field(v, "data");
      const std::string kind = v.at("kind").get<std::string>();
      if (kind == "key_info_template") {
        KeyInformation ki = KeyInformation::parse(data);
        BOOST_TEST(ki.keys.size() == v.at("count").get<std::size_t>());
        BOOST_REQUIRE(!ki.keys.empty());
        BOOST_REQUIRE(v.contains("expect_first") || v.contains("expect_last"));
        if (v.contains("expect_first")) check_expected_key(v["expect_first"], ki.keys.front());
        if (v.contains("expect_last")) check_expected_key(v["expect_last"], ki.keys.back());
        BOOST_TEST((KeyInformation::parse(ki.encode()) == ki));
        check_key_info_reencoding(data, ki);
        ++run;
      } else if (kind == "card_data") {
        auto crd = gp::CardRecognitionData::parse(data);
        BOOST_TEST(crd.gp_version_string() == v.at("gp_version").get<std::string>());
        const auto& want = v.at("scp");
        BOOST_REQUIRE(crd.scps.size() == want.size());
        for (std::size_t s = 0; s < want.size(); ++s) {
          BOOST_TEST(crd.scps[s].scp == want[s].at(0).get<int>());
          BOOST_TEST(crd.scps[s].i == want[s].at(1).get<int>());
        }
        BOOST_TEST(to_hex(crd.encode()) == to_hex(data));  // canonical order: byte-identical
        BOOST_TEST((gp::CardRecognitionData::parse(crd.encode()) == crd));
        ++run;
      } else {
        BOOST_ERROR("vector kind '" << kind << "' is not understood by this test");
      }
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_CASE(vector_details_beyond_the_json) {
  // GPPro's first template: AES-128 keys 1..3 at KVN 1, RSA (A1 N, A0 e) at 0x70, DES at 0x71
  auto ki = KeyInformation::parse(from_hex("E020C00401018820C00402018820C00403018820C0060170A180A003C00401718010"));
  BOOST_TEST((ki.key_set_versions() == std::vector<std::uint8_t>{0x01, 0x70, 0x71}));
  BOOST_REQUIRE(ki.keys[3].components.size() == 2u);
  BOOST_TEST((ki.keys[3].components[1] == gp::KeyComponent{0xA0, 3}));
  BOOST_TEST((ki.usable_key_set_versions() == std::vector<std::uint8_t>{0x01, 0x71}));
  // the extended RSA entry: N of 128 bytes, e of 3, usage 84, access 00
  auto ext = KeyInformation::parse(from_hex("E021C00401018010C00402018010C00403018010C00D0173FFA10080A0000301840100"));
  const auto& r = ext.keys.back();
  BOOST_TEST(r.extended);
  BOOST_REQUIRE(r.components.size() == 2u);
  BOOST_TEST((r.components[1] == gp::KeyComponent{0xA0, 3}));
  BOOST_TEST(to_hex(r.usage) == "84");
  BOOST_TEST(to_hex(r.access) == "00");
  // the extended template: two-component AES entries with a private-use '10' component
  auto big = KeyInformation::parse(from_hex(
      "E081B0C00A0120FF80001001000100C00A0220FF80001001000100C00A0320FF80001001000100C00A0101FF80001001000100C00A0201FF80001001000100"
      "C00A0301FF80001001000100C00A0102FF88001001000100C00E0202FF880010FF10000101000100C00A0302FF88001001000100C00A0103FF88001001000100"
      "C00E0203FF880010FF10000101000100C00A0303FF88001001000100C00A1403FF85001001000100C00A1503FF88001001000100"));
  BOOST_TEST((big.key_set_versions() == std::vector<std::uint8_t>{0x01, 0x02, 0x03, 0x20}));
  BOOST_TEST(big.key_set(0x20).key_type == gp::KeyType::Des2);
  BOOST_TEST(big.key_set(0x01).key_type == gp::KeyType::Des2);
  BOOST_TEST(big.check_key_set(0x02).problem == gp::KeySetProblem::NotSymmetric);  // key 2 has two components
  BOOST_TEST(big.check_key_set(0x03).problem == gp::KeySetProblem::NotSymmetric);  // so is key 2 there (and 0x14 is a TLS PSK)
  auto crd = gp::CardRecognitionData::parse(
      from_hex("664C734A06072A864886FC6B01600C060A2A864886FC6B02020101630906072A864886FC6B03640B06092A864886FC6B040215650B06092B85108648"
               "64020103660C060A2B060104012A026E0102"));
  BOOST_REQUIRE(crd.card_identification_scheme.has_value());
  BOOST_TEST(gp::oid_to_string(*crd.card_identification_scheme) == "1.2.840.114283.3");
  BOOST_REQUIRE(crd.card_configuration_details.has_value());
  BOOST_TEST(gp::oid_to_string(gp::parse_tlv(*crd.card_configuration_details).value) == "1.3.656.840.100.2.1.3");
  BOOST_TEST(gp::oid_to_string(gp::parse_tlv(*crd.card_chip_details).value) == "1.3.6.1.4.1.42.2.110.1.2");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(key_information)

BOOST_AUTO_TEST_CASE(with_and_without_the_outer_tag) {
  const Bytes c0s = from_hex("C00401018010C00402018010C00403018010");
  auto bare = KeyInformation::parse(c0s);
  auto tagged = KeyInformation::parse(gp::encode_tlv(0xE0, c0s));
  BOOST_TEST((bare == tagged));
  BOOST_TEST(bare.keys.size() == 3u);
  BOOST_TEST(to_hex(bare.encode()) == "E012" + to_hex(c0s));
  BOOST_TEST(KeyInformation::parse({}).keys.empty());
  BOOST_TEST(KeyInformation::parse(from_hex("E000")).keys.empty());
  // an empty 'C0' (fresh Security Domain) is skipped
  BOOST_TEST(KeyInformation::parse(from_hex("E008C000C00401018010")).keys.size() == 1u);
}

BOOST_AUTO_TEST_CASE(key_set_helpers) {
  // KVN 0x30: AES-256 ENC/MAC/DEK; KVN 0x20: DES2 ENC/MAC/DEK; KVN 0x01: factory DES2, one key
  auto ki = KeyInformation::parse(from_hex("E0 2A C004 01308820 C004 02308820 C004 03308820 C004 01208010 C004 02208210 C004 03208010"
                                           " C004 01018010"));
  BOOST_TEST((ki.key_set_versions() == std::vector<std::uint8_t>{0x01, 0x20, 0x30}));
  auto aes = ki.key_set(0x30);
  BOOST_TEST(aes.key_type == gp::KeyType::Aes256);
  BOOST_TEST((aes.key_ids == std::vector<std::uint8_t>{1, 2, 3}));
  BOOST_TEST(aes.has_enc_mac_dek());
  auto des = ki.key_set(0x20);  // '80' and '82' are both 3DES: one type
  BOOST_TEST(des.key_type == gp::KeyType::Des2);
  BOOST_TEST(des.has_enc_mac_dek());
  auto one = ki.key_set(0x01);
  BOOST_TEST(!one.has_enc_mac_dek());
  BOOST_TEST(ki.keys_of(0x20).size() == 3u);
  BOOST_TEST(ki.keys_of(0x99).empty());
  BOOST_TEST(ki.usable_key_set_versions().size() == 3u);
}

BOOST_AUTO_TEST_CASE(inconsistent_key_sets) {
  struct Case {
    const char* hex;
    gp::KeySetProblem problem;
    const char* says;
  } cases[] = {
      {"C00401208010", gp::KeySetProblem::Absent, "not in the key information template"},
      {"C00401308810 C00402308818", gp::KeySetProblem::MixedTypes, "mixes AES128 and AES192"},
      {"C00401308010 C00402308810", gp::KeySetProblem::MixedTypes, "mixes DES2 and AES128"},
      {"C00401308810 C00401308810", gp::KeySetProblem::DuplicateKeyId, "key id 1 appears twice"},
      {"C00401308808", gp::KeySetProblem::BadLength, "AES key of 8 bytes"},
      {"C00401308008", gp::KeySetProblem::BadLength, "DES key of 8 bytes"},
      {"C00401308510", gp::KeySetProblem::NotSymmetric, "TLS PSK"},
      {"C0060130A180A003", gp::KeySetProblem::NotSymmetric, "2 components"},
      {"C00401300510", gp::KeySetProblem::NotSymmetric, "private use"},
  };
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT(c.hex) {
      auto ki = KeyInformation::parse(from_hex(c.hex));
      auto check = ki.check_key_set(0x30);
      BOOST_TEST(!check.ok());
      BOOST_TEST(check.problem == c.problem, gp::key_set_problem_name(check.problem));
      BOOST_TEST(check.detail.find(c.says) != std::string::npos, check.detail);
      BOOST_TEST(!check.info.has_value());
      expect_error([&] { ki.key_set(0x30); }, Errc::InvalidArgument, std::nullopt, c.hex);
    }
  }
}

BOOST_AUTO_TEST_CASE(extended_entries_round_trip) {
  gp::KeyInformationData k;
  k.key_id = 1;
  k.kvn = 0x73;
  k.extended = true;
  k.components = {{0xA1, 256}, {0xA0, 3}};
  k.usage = {0x82};
  k.access = {0x01};
  BOOST_TEST(to_hex(k.encode()) == "C00E0173FFA10100FFA0000301820101");
  gp::KeyInformationData e2;
  e2.key_id = 2;
  e2.kvn = 0x73;
  e2.extended = true;
  e2.components = {{0x88, 32}};  // usage and access empty: lengths 00 00
  KeyInformation ki{{k, e2}};
  Bytes enc = ki.encode();
  BOOST_TEST((KeyInformation::parse(enc) == ki));
  BOOST_TEST(to_hex(e2.encode_value()) == "0273FF8800200000");
}

BOOST_AUTO_TEST_CASE(malformed_entries) {
  // offsets count from the start of the whole response
  expect_error([] { KeyInformation::parse(from_hex("E005C003010180")); }, Errc::InvalidLength, 4, "3-byte C0");
  expect_error([] { KeyInformation::parse(from_hex("E006C00501018010")); }, Errc::TlvBadLength, 3, "C0 past E0");
  expect_error([] { KeyInformation::parse(from_hex("E007C0050101801088")); }, Errc::InvalidLength, 8, "basic: type without length");
  expect_error([] { KeyInformation::parse(from_hex("E008C00601018010FF10")); }, Errc::InvalidLength, 8, "basic: FF later");
  expect_error([] { KeyInformation::parse(from_hex("C0050101FF8800")); }, Errc::InvalidLength, 4, "extended: component cut");
  expect_error([] { KeyInformation::parse(from_hex("C0060101FF880010")); }, Errc::InvalidLength, 8, "extended: no usage length");
  expect_error([] { KeyInformation::parse(from_hex("C0070101FF88001002")); }, Errc::InvalidLength, 8, "extended: usage cut");
  BOOST_TEST(KeyInformation::parse(from_hex("C0080101FF8800100000")).keys.at(0).usage.empty());
}

BOOST_AUTO_TEST_CASE(malformed_templates) {
  expect_error([] { KeyInformation::parse(from_hex("E004C1020101")); }, Errc::TlvBadTag, 2, "not C0");
  expect_error([] { KeyInformation::parse(from_hex("E000 C0040101 8010")); }, Errc::TlvTrailingData, 2, "data after E0");
  expect_error([] { KeyInformation::parse(from_hex("C00A0101FF8800100000 AB")); }, Errc::TlvTruncated, std::nullopt, "cut TLV");
  expect_error([] { KeyInformation::parse(from_hex("C0090101FF880010000000")); }, Errc::TlvTrailingData, 10, "after access");
  gp::KeyInformationData basic;
  basic.components = {{0x80, 300}};
  expect_error([&] { basic.encode(); }, Errc::InvalidArgument, std::nullopt, "basic length 300");
  basic.components = {{0xFF, 16}};
  expect_error([&] { basic.encode(); }, Errc::InvalidArgument, std::nullopt, "basic type FF");
  basic.components.clear();
  expect_error([&] { basic.encode(); }, Errc::InvalidArgument, std::nullopt, "no component");
}

BOOST_AUTO_TEST_SUITE_END()
