// GET DATA for every tag the TSM reads, parsed back with src/gp; SELECT of the ISD.
#include <boost/test/unit_test.hpp>

#include "card/sw.h"
#include "card_fixture.h"
#include "gp/data_objects.h"
#include "gp/tlv.h"

using namespace sekds;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(get_data)

BOOST_AUTO_TEST_CASE(every_tag_parses_back_with_gp) {
  for (const CardSpec spec : {CardSpec{gp::Scp::Scp02, 0x55, 0x20}, CardSpec{gp::Scp::Scp03, 0x70, 0x31}}) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      TestCard t(spec);
      const card::CardIdentity& id = t.card().state().identity;

      auto r = t.send(get_data_apdu(gp::kTagSdManagerUrl));
      BOOST_TEST(r.sw == 0x9000);
      BOOST_TEST(gp::SdManagerUrl::parse(r.data).str() == "https://ttp.example:8443/sekds/v1");
      BOOST_TEST(r.data[0] == 0x5F);  // answered with its tag

      r = t.send(get_data_apdu(gp::kTagKdd, 0x00));  // CLA 00 works too
      BOOST_TEST(r.sw == 0x9000);
      BOOST_TEST(gp::to_hex(gp::Kdd::parse(r.data).bytes()) == gp::to_hex(id.kdd));

      r = t.send(get_data_apdu(gp::kTagKeyInformationTemplate));
      BOOST_TEST(r.sw == 0x9000);
      const auto info = gp::KeyInformation::parse(r.data);
      BOOST_TEST(info.key_set_versions() == std::vector<std::uint8_t>{spec.kvn});
      const auto ks = info.key_set(spec.kvn);
      BOOST_TEST(ks.has_enc_mac_dek());
      BOOST_TEST(gp::key_type_name(ks.key_type) == (spec.scp == gp::Scp::Scp02 ? "DES2" : "AES128"));

      r = t.send(get_data_apdu(gp::kTagSequenceCounter));
      BOOST_TEST(r.sw == 0x9000);
      const auto counter = gp::SequenceCounter::parse(r.data);
      BOOST_TEST(counter.value() == 0u);
      BOOST_TEST(counter.width() == (spec.scp == gp::Scp::Scp02 ? 2u : 3u));

      r = t.send(get_data_apdu(gp::kTagIin));
      BOOST_TEST(r.sw == 0x9000);
      BOOST_TEST(gp::to_hex(gp::IssuerIdentificationNumber::parse(r.data).value) == "4242");

      r = t.send(get_data_apdu(gp::kTagCin));
      BOOST_TEST(r.sw == 0x9000);
      BOOST_TEST(gp::CardImageNumber::parse(r.data).value == id.cin);

      r = t.send(get_data_apdu(gp::kTagCardData));
      BOOST_TEST(r.sw == 0x9000);
      const auto crd = gp::CardRecognitionData::parse(r.data);
      BOOST_TEST(crd.gp_version_string() == "2.3.1");
      BOOST_REQUIRE(crd.scps.size() == 1u);
      BOOST_TEST(crd.scps[0].scp == static_cast<std::uint8_t>(spec.scp));
      BOOST_TEST(crd.scps[0].i == spec.i);

      r = t.send(get_data_apdu(gp::kTagCplc));
      BOOST_TEST(r.sw == 0x9000);
      const auto cplc = gp::Cplc::parse(r.data);
      // The KDD is built from CPLC fields: fabricator, IC type, serial number, batch.
      const Bytes from_cplc = gp::concat({cplc.field(gp::CplcField::IcFabricator), cplc.field(gp::CplcField::IcType),
                                          cplc.field(gp::CplcField::IcSerialNumber),
                                          cplc.field(gp::CplcField::IcBatchIdentifier)});
      BOOST_TEST(gp::to_hex(from_cplc) == gp::to_hex(id.kdd));
    }
  }
}

BOOST_AUTO_TEST_CASE(unknown_tags_and_bad_forms) {
  TestCard t;
  for (gp::Tag tag : {0x00u, 0x9F7Eu, 0xBF0Cu, 0x66FFu, 0xCEu, 0x2F00u}) {
    BOOST_TEST_CONTEXT("tag " << gp::tag_hex(tag == 0 ? 0x01 : tag)) { BOOST_TEST(t.send(get_data_apdu(tag)).sw == 0x6A88); }
  }
  // Command data where none belongs.
  BOOST_TEST(t.send(gp::CommandApdu(0x80, 0xCA, 0x00, 0xCF, Bytes{0x01}, 256u)).sw == 0x6700);
  // GET DATA with a CLA that is neither 00 nor 80 (nor their secure-messaging forms).
  BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd, 0xA0)).sw == 0x6E00);
  // Secure messaging without a session.
  BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd, 0x84)).sw == 0x6982);
}

BOOST_AUTO_TEST_CASE(counter_follows_the_default_key_set) {
  TestCard t(CardSpec{gp::Scp::Scp02, 0x55, 0x20});
  for (int n = 1; n <= 3; ++n) {
    t.open(0x01);
    const auto r = t.send(get_data_apdu(gp::kTagSequenceCounter, 0x80));
    // Inside a C-MAC session an unwrapped command is refused and ends the session.
    BOOST_TEST(r.sw == 0x6982);
    BOOST_TEST(gp::SequenceCounter::parse(t.send(get_data_apdu(gp::kTagSequenceCounter)).data).value() ==
               static_cast<std::uint32_t>(n));
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(isd_by_aid_empty_and_partial) {
  TestCard t;
  for (const Bytes& aid : {card::kIsdAid, Bytes{}, gp::from_hex("A0000001"), gp::from_hex("A000000151")}) {
    BOOST_TEST_CONTEXT("AID '" << gp::to_hex(aid) << "'") {
      const auto r = t.send(select_apdu(aid));
      BOOST_TEST(r.sw == 0x9000);
      const auto fci = gp::parse_tlv(r.data);
      BOOST_TEST(fci.tag == 0x6Fu);
      BOOST_TEST(gp::to_hex(fci.require(0x84).value) == "A000000151000000");
      const auto& a5 = fci.require(0xA5);
      BOOST_TEST(gp::to_hex(a5.require(0x9F65).value) == "FF");
      BOOST_TEST(gp::CardRecognitionData::parse(a5.require(0x73).encode()).scps.size() == 1u);
    }
  }
  BOOST_TEST(t.send(select_apdu(card::kIsdAid, 0x0C)).data.empty());  // P2 0C: no FCI
  BOOST_TEST(t.send(select_apdu(gp::from_hex("A000000003000000"))).sw == 0x6A82);
  BOOST_TEST(t.send(select_apdu(gp::from_hex("A0000001510000000000000000000000FF"))).sw == 0x6A82);  // 17 bytes
  BOOST_TEST(t.send(gp::CommandApdu(0x00, 0xA4, 0x00, 0x00, gp::from_hex("3F00"))).sw == 0x6A86);   // by file id
  BOOST_TEST(t.send(gp::CommandApdu(0x00, 0xA4, 0x04, 0x01, card::kIsdAid)).sw == 0x6A86);
  BOOST_TEST(t.send(gp::CommandApdu(0x80, 0xA4, 0x04, 0x00, card::kIsdAid)).sw == 0x6E00);
}

BOOST_AUTO_TEST_CASE(select_ends_the_secure_channel) {
  TestCard t;
  auto host = t.open(0x03);
  BOOST_TEST(t.card().secure_channel_open());
  BOOST_TEST(t.send(select_apdu(gp::from_hex("A0000000FF"))).sw == 0x6A82);  // a failed SELECT changes nothing
  BOOST_TEST(t.card().secure_channel_open());
  BOOST_TEST(t.send(select_apdu(card::kIsdAid)).sw == 0x9000);
  BOOST_TEST(!t.card().secure_channel_open());
  BOOST_TEST(t.send(get_status_apdu(0x80, 0x02)).sw == 0x6982);
}

BOOST_AUTO_TEST_CASE(reset_closes_session_and_selects_isd) {
  TestCard t;
  t.open(0x01);
  BOOST_TEST(gp::to_hex(t.card().reset()) == gp::to_hex(card::Card::atr()));
  BOOST_TEST(!t.card().secure_channel_open());
  // ATR: TS 3B, T=1 offered, TCK makes the XOR of T0..TCK zero.
  const Bytes& atr = card::Card::atr();
  BOOST_TEST(atr.front() == 0x3B);
  std::uint8_t x = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) x = static_cast<std::uint8_t>(x ^ atr[i]);
  BOOST_TEST(x == 0);
}

BOOST_AUTO_TEST_SUITE_END()
