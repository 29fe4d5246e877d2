// Malformed and unexpected APDUs: every one gets its status word, none crashes the card,
// outside and inside a secure channel.
#include <boost/test/unit_test.hpp>

#include "card_fixture.h"
#include "gp/data_objects.h"

using namespace sekds;
using namespace sekds::test;

namespace {

struct Row {
  const char* apdu;  // hex of the wire bytes
  std::uint16_t sw;
  const char* why;
};

// Outside a session (ISD selected).
const Row kPlain[] = {
    {"", 0x6700, "empty"},
    {"80", 0x6700, "one byte"},
    {"80CA00", 0x6700, "three bytes"},
    {"80CA00CF05AA", 0x6700, "Lc 5, one byte of data"},
    {"80CA00CF02AABBCC00", 0x6700, "Lc 2, four bytes follow"},
    {"80CA00CF0000", 0x6700, "extended header cut short"},
    {"80CA00CF000000", 0x9000, "extended Le 0000 (case 2E) is fine"},
    {"80CA00CF00000100", 0x6700, "extended Lc 1 without its byte"},
    {"80CA00CF01AA", 0x6700, "GET DATA with data"},
    {"80CA9F7E00", 0x6A88, "unknown tag"},
    {"A0CA00CF00", 0x6E00, "CLA A0"},
    {"FFCA00CF00", 0x6E00, "CLA FF"},
    {"E0CA00CF00", 0x6E00, "CLA E0 (further interindustry channels)"},
    {"81CA00CF00", 0x6881, "logical channel 1"},
    {"03A4040000", 0x6881, "SELECT on channel 3"},
    {"8070000000", 0x6D00, "INS 70 (MANAGE CHANNEL) not offered"},
    {"80FF000000", 0x6D00, "INS FF"},
    {"00C0000000", 0x6D00, "GET RESPONSE: nothing is ever pending"},
    {"00F2800002", 0x6E00, "GET STATUS with CLA 00"},
    {"80F2800002", 0x6982, "GET STATUS needs a session"},
    {"84F2800002", 0x6982, "secure messaging without a session"},
    {"8482000010000102030405060708090A0B0C0D0E0F", 0x6985, "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE"},
    {"0082000010000102030405060708090A0B0C0D0E0F", 0x6E00, "EXTERNAL AUTHENTICATE with CLA 00"},
    {"805000000401020304", 0x6700, "INITIALIZE UPDATE with a 4-byte challenge"},
    {"8050000000", 0x6700, "INITIALIZE UPDATE without challenge (Le only)"},
    {"00A4040011A0000001510000000000000000000000FF", 0x6A82, "SELECT with 17 bytes"},
    {"00A4040000", 0x9000, "SELECT without an AID (Le only): the ISD"},
};

// Inside an SCP03 level 01 session, sent wrapped: the card must check the MAC first and
// answer the command's own status word.
const Row kWrapped[] = {
    {"80F2400200", 0x6A80, "GET STATUS without search criteria"},
    {"80F24002014F", 0x6A80, "GET STATUS criteria truncated"},
    {"80F2070002" "4F00", 0x6A86, "GET STATUS P1 07"},
    {"80E60200", 0x6700, "INSTALL without data"},
    {"80E6020005" "0511223344", 0x6A80, "INSTALL [for load] with a 4-byte AID field"},
    {"80E6020009" "08A000000151535050", 0x6A80, "INSTALL [for load] fields missing"},
    {"80E6200002" "0000", 0x6A86, "INSTALL [for personalization] not offered"},
    {"80E6020100", 0x6A86, "INSTALL P2 01"},
    {"80E8000000", 0x6985, "LOAD without INSTALL [for load]"},
    {"80E4000002" "4F00", 0x6A80, "DELETE of an empty AID"},
    {"80E4000002" "4F01", 0x6A80, "DELETE TLV truncated"},
    {"80E4000007" "5C05A000000151", 0x6A80, "DELETE without '4F'"},
    {"80E4010007" "4F05A000000151", 0x6A86, "DELETE P1 01"},
    {"80E4004007" "4F05A000000151", 0x6A86, "DELETE P2 40"},
    {"80E4000007" "4F05A0000001FF", 0x6A88, "DELETE of nothing"},
    {"80E2000000", 0x6700, "STORE DATA without data"},
    {"80E2010001" "AA", 0x6A86, "STORE DATA P1 b1 set"},
    {"80D8008100", 0x6700, "PUT KEY without data"},
    {"80D8008101" "21", 0x6A80, "PUT KEY with a KVN only"},
    {"80D8008102" "8080", 0x6A80, "PUT KEY new KVN out of range"},
    {"80D8008105" "218010AABB", 0x6A80, "PUT KEY key block truncated"},
    {"80CA00CF01" "AA", 0x6700, "GET DATA with data"},
    {"00CA00CF00", 0x9000, "GET DATA CLA 00 inside the session"},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(malformed)

BOOST_AUTO_TEST_CASE(outside_a_session) {
  TestCard t;
  for (const Row& r : kPlain) {
    BOOST_TEST_CONTEXT(r.why << " [" << r.apdu << "]") {
      const Bytes raw = gp::from_hex(r.apdu);
      const Bytes out = t.card().transmit(raw);
      BOOST_REQUIRE(out.size() >= 2u);
      BOOST_TEST(gp::ResponseApdu::parse(out).sw == r.sw);
      BOOST_TEST(!t.card().secure_channel_open());
    }
  }
  // The card still works.
  BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd)).sw == 0x9000);
  t.open(0x01);
}

BOOST_AUTO_TEST_CASE(inside_a_session) {
  TestCard t;
  auto host = t.open(0x01);
  for (const Row& r : kWrapped) {
    BOOST_TEST_CONTEXT(r.why << " [" << r.apdu << "]") {
      const auto plain = gp::CommandApdu::parse(gp::from_hex(r.apdu));
      BOOST_TEST(t.send_secure(*host, plain).sw == r.sw);
      BOOST_TEST(t.card().secure_channel_open());  // a refused command does not end the session
    }
  }
  // Bytes that are not an APDU end the session (they cannot carry a valid MAC).
  BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(gp::from_hex("84CA00"))).sw == 0x6700);
  BOOST_TEST(!t.card().secure_channel_open());
}

BOOST_AUTO_TEST_CASE(random_bytes_never_crash) {
  // Random APDUs of every length class, with and without a session; the card answers each
  // with two status bytes (some data for the few that happen to be valid).
  TestCard t(CardSpec{gp::Scp::Scp02, 0x55});
  for (int i = 0; i < 3000; ++i) {
    if (i % 500 == 0) t.open(0x03);
    const std::size_t len = static_cast<std::size_t>(gp::random_bytes(1)[0]) % 270;
    Bytes raw = gp::random_bytes(len);
    if (raw.size() >= 2 && i % 3 == 0) raw[0] = 0x80;  // reach the GP commands more often
    if (raw.size() >= 2 && i % 6 == 0) raw[1] = gp::random_bytes(1)[0] % 2 ? 0xE6 : 0xF2;
    const Bytes out = t.card().transmit(raw);
    BOOST_REQUIRE(out.size() >= 2u);
  }
  BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd)).sw == 0x9000);
}

BOOST_AUTO_TEST_SUITE_END()
