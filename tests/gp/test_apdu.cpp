// ISO 7816-4 APDUs: every case in short and extended form round-trips; every malformed
// command or response gives ApduMalformed with the offset of the bad field.
#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>
#include <random>

#include "gp/apdu.h"
#include "gp/error.h"

using namespace sekds;
using gp::Bytes;
using gp::CommandApdu;
using gp::from_hex;
using gp::ResponseApdu;
using gp::to_hex;

namespace {

void expect_malformed(const std::function<void()>& f, std::optional<std::size_t> offset, const std::string& ctx) {
  try {
    f();
    BOOST_ERROR(ctx << ": no error");
  } catch (const gp::GpError& e) {
    BOOST_TEST(e.name() == std::string("ApduMalformed"), ctx << ": " << e.name() << " " << e.what());
    if (offset) {
      BOOST_TEST(e.offset().has_value(), ctx);
      if (e.offset()) BOOST_TEST(*e.offset() == *offset, ctx << ": " << e.what());
    }
  }
}

void expect_parse_malformed(const std::string& hex, std::size_t offset) {
  const Bytes b = from_hex(hex);
  expect_malformed([&] { CommandApdu::parse(b); }, offset, hex);
}

bool same(const CommandApdu& a, const CommandApdu& b) {
  return a.cla == b.cla && a.ins == b.ins && a.p1 == b.p1 && a.p2 == b.p2 && a.data == b.data && a.le == b.le;
}

// encode -> expected bytes -> parse -> same fields, extended flag as expected
void check_case(const CommandApdu& c, const std::string& expected_hex, bool extended, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    Bytes enc = c.encode();
    BOOST_TEST(to_hex(enc) == to_hex(from_hex(expected_hex)));
    CommandApdu back = CommandApdu::parse(enc);
    BOOST_TEST(same(back, c));
    BOOST_TEST(back.is_extended() == extended);
    BOOST_TEST(to_hex(back.encode()) == to_hex(enc));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(apdu)

BOOST_AUTO_TEST_CASE(short_cases) {
  check_case(CommandApdu(0x80, 0xCA, 0x00, 0xCF), "80CA00CF", false, "case 1");
  check_case(CommandApdu(0x80, 0xCA, 0x00, 0xCF, {}, 1), "80CA00CF01", false, "case 2S Le=1");
  check_case(CommandApdu(0x80, 0xCA, 0x00, 0xE0, {}, 256), "80CA00E000", false, "case 2S Le=256");
  check_case(CommandApdu(0x84, 0x82, 0x01, 0x00, from_hex("0102")), "84820100 02 0102", false, "case 3S");
  check_case(CommandApdu(0x80, 0xE8, 0x00, 0x00, Bytes(255, 0xAB)), "80E80000FF" + to_hex(Bytes(255, 0xAB)), false,
             "case 3S Lc=255");
  check_case(CommandApdu(0x80, 0x50, 0x00, 0x00, from_hex("1122334455667788"), 256), "80500000081122334455667788 00", false,
             "case 4S Le=256");
  check_case(CommandApdu(0x00, 0xA4, 0x04, 0x00, from_hex("A000000151000000"), 1), "00A4040008A000000151000000 01", false,
             "case 4S Le=1");
}

BOOST_AUTO_TEST_CASE(extended_cases) {
  check_case(CommandApdu(0x00, 0xB0, 0x00, 0x00, {}, 257), "00B00000 000101", true, "case 2E Le=257");
  check_case(CommandApdu(0x00, 0xB0, 0x00, 0x00, {}, 65536), "00B00000 000000", true, "case 2E Le=65536");
  CommandApdu forced(0x00, 0xB0, 0x00, 0x00, {}, 1);
  forced.force_extended = true;
  check_case(forced, "00B00000 000001", true, "case 2E forced Le=1");
  check_case(CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(256, 0x5A)), "80E20000 000100" + to_hex(Bytes(256, 0x5A)), true,
             "case 3E Lc=256");
  check_case(CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(65535, 0x01)), "80E20000 00FFFF" + to_hex(Bytes(65535, 0x01)), true,
             "case 3E Lc=65535");
  CommandApdu forced3(0x80, 0xE2, 0x00, 0x00, from_hex("01"));
  forced3.force_extended = true;
  check_case(forced3, "80E20000 000001 01", true, "case 3E forced Lc=1");
  check_case(CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(300, 0x02), 2), "80E20000 00012C" + to_hex(Bytes(300, 0x02)) + "0002",
             true, "case 4E Le=2");
  check_case(CommandApdu(0x80, 0xE2, 0x00, 0x00, from_hex("0102"), 65536), "80E20000 000002 0102 0000", true,
             "case 4E Le=65536 with short data");
  check_case(CommandApdu(0x80, 0xE2, 0x00, 0x00, Bytes(255, 0x03), 257), "80E20000 0000FF" + to_hex(Bytes(255, 0x03)) + "0101",
             true, "case 4E because Le > 256");
}

BOOST_AUTO_TEST_CASE(command_parse_errors) {
  expect_parse_malformed("", 0);
  expect_parse_malformed("80CA00", 3);                  // shorter than the header
  expect_parse_malformed("80E20000 03 0102", 4);        // Lc 3, 2 bytes follow
  expect_parse_malformed("80E20000 02 010203 0405", 4);  // Lc 2, 6 bytes follow
  expect_parse_malformed("80E20000 0001", 5);           // extended length cut
  expect_parse_malformed("80E20000 000000 01", 5);      // extended Lc 0 with a body
  expect_parse_malformed("80E20000 000003 0102", 5);    // extended Lc 3, 2 bytes
  expect_parse_malformed("80E20000 000002 0102 00", 5);  // 4E with a 1-byte Le
  expect_parse_malformed("80E20000 000002 0102 000000", 5);
  expect_parse_malformed("80E20000 000100" + to_hex(Bytes(255, 1)), 5);  // 3E one byte short
}

BOOST_AUTO_TEST_CASE(command_encode_errors) {
  expect_malformed([] { CommandApdu(0, 0, 0, 0, Bytes(65536, 0)).encode(); }, std::nullopt, "data 65536");
  expect_malformed([] { CommandApdu(0, 0, 0, 0, {}, 0).encode(); }, std::nullopt, "Le 0");
  expect_malformed([] { CommandApdu(0, 0, 0, 0, {}, 65537).encode(); }, std::nullopt, "Le 65537");
}

BOOST_AUTO_TEST_CASE(responses) {
  ResponseApdu r = ResponseApdu::parse(from_hex("CF0A0102030405060708090A 9000"));
  BOOST_TEST(r.ok());
  BOOST_TEST(to_hex(r.data) == "CF0A0102030405060708090A");
  BOOST_TEST(to_hex(r.encode()) == "CF0A0102030405060708090A9000");
  ResponseApdu e = ResponseApdu::parse(from_hex("6A88"));
  BOOST_TEST(!e.ok());
  BOOST_TEST(e.data.empty());
  BOOST_TEST(e.sw1() == 0x6A);
  BOOST_TEST(e.sw2() == 0x88);
  const Bytes one = from_hex("90");
  expect_malformed([&] { ResponseApdu::parse(one); }, 1, "1 byte response");
  expect_malformed([] { ResponseApdu::parse({}); }, 0, "empty response");
  ResponseApdu big{Bytes(65536, 0x77), 0x6310};
  BOOST_TEST(to_hex(ResponseApdu::parse(big.encode()).data) == to_hex(big.data));
}

BOOST_AUTO_TEST_CASE(random_commands_round_trip) {
  std::mt19937 gen(7816);
  auto rnd = [&gen](unsigned n) { return static_cast<unsigned>(gen() % n); };
  for (int i = 0; i < 2000; ++i) {
    CommandApdu c(static_cast<std::uint8_t>(rnd(256)), static_cast<std::uint8_t>(rnd(256)), static_cast<std::uint8_t>(rnd(256)),
                  static_cast<std::uint8_t>(rnd(256)));
    const unsigned kind = rnd(4);
    if (kind & 1) c.data.resize(rnd(4) == 0 ? 1 + rnd(70000 - 1) % 65535 : 1 + rnd(300));
    for (auto& b : c.data) b = static_cast<std::uint8_t>(rnd(256));
    if (kind & 2) c.le = rnd(4) == 0 ? 1 + rnd(65536) : 1 + rnd(300);
    c.force_extended = rnd(5) == 0;
    Bytes enc = c.encode();
    CommandApdu back = CommandApdu::parse(enc);
    BOOST_TEST(same(back, c), "case " << i << " header " << to_hex(Bytes(enc.begin(), enc.begin() + std::min<std::ptrdiff_t>(7, std::ssize(enc)))));
    if (kind != 0) BOOST_TEST(back.is_extended() == c.is_extended(), "case " << i);
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_never_crash) {
  std::mt19937 gen(2026);
  int ok = 0, bad = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(gen() % 12);
    for (auto& x : b) x = static_cast<std::uint8_t>(gen() % 3 == 0 ? 0 : gen() % 8);
    try {
      CommandApdu::parse(b);
      ++ok;
    } catch (const gp::GpError& e) {
      ++bad;
      BOOST_TEST(e.name() == std::string("ApduMalformed"));
    }
  }
  BOOST_TEST(ok > 0);
  BOOST_TEST(bad > 0);
}

BOOST_AUTO_TEST_SUITE_END()
