// SCP02 R-MAC has no public trace in tests/vectors, so host and card agreeing proves little
// on its own. This test computes the R-MACs of a session by hand from GP 2.3.1 E.4.5 (as
// GlobalPlatformPro does it) and compares them with what the card sends:
//   ICV: the C-MAC of EXTERNAL AUTHENTICATE, then the previous R-MAC (no ICV encryption);
//   input: CLA (b1..b3 cleared) INS P1 P2 Lc plain-data | Li response-data | SW1 SW2, method-2 padded;
//   MAC: single DES plus final triple DES under the R-MAC session key (derivation constant 0102).
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/scp02.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

BOOST_AUTO_TEST_SUITE(scp02_rmac)

BOOST_AUTO_TEST_CASE(r_macs_follow_gp_e45) {
  const gp::StaticKeys keys{gp::secure_from_hex("404142434445464748494A4B4C4D4E4F"),
                            gp::secure_from_hex("505152535455565758595A5B5C5D5E5F"),
                            gp::secure_from_hex("606162636465666768696A6B6C6D6E6F")};
  for (std::uint8_t level : {std::uint8_t{0x11}, std::uint8_t{0x13}}) {
    BOOST_TEST_CONTEXT("level " << int(level)) {
      gp::Scp02CardOptions opt;
      opt.i = 0x15;
      opt.kdd = Bytes(10, 0x01);
      opt.sequence_counter = 0x0203;
      gp::Scp02Card card(keys, opt);
      gp::Scp02Host host(keys, {0x15, std::nullopt});
      const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
      const auto ea = gp::CommandApdu::parse(host.external_authenticate(iu, gp::SecurityLevel(level)));
      host.confirm_external_authenticate(card.external_authenticate(ea).response);

      const auto rmac_key = gp::scp02_session_key(keys.mac, gp::kScp02ConstRMac, 0x0203);
      Bytes icv(ea.data.end() - 8, ea.data.end());  // the C-MAC of EXTERNAL AUTHENTICATE

      const std::vector<std::pair<gp::CommandApdu, gp::ResponseApdu>> exchanges{
          {gp::CommandApdu(0x80, 0xE2, 0x80, 0x00, gp::from_hex("0102030405060708090A")), {gp::from_hex("6F10A5"), 0x9000}},
          {gp::CommandApdu(0x80, 0xF2, 0x20, 0x02), {{}, 0x9000}},
          {gp::CommandApdu(0x81, 0xCA, 0x00, 0x66, Bytes{}, 256u), {Bytes(40, 0x66), 0x6310}},
      };
      for (const auto& [cmd, answer] : exchanges) {
        BOOST_TEST_CONTEXT(to_hex(cmd.encode())) {
          const auto plain = card.unwrap(host.wrap(cmd));
          const auto wrapped = card.wrap(answer);
          Bytes input{static_cast<std::uint8_t>(cmd.cla & 0xF8), cmd.ins, cmd.p1, cmd.p2,
                      static_cast<std::uint8_t>(cmd.data.size())};
          input.insert(input.end(), cmd.data.begin(), cmd.data.end());
          input.push_back(static_cast<std::uint8_t>(answer.data.size()));
          input.insert(input.end(), answer.data.begin(), answer.data.end());
          gp::put_u16(input, answer.sw);
          const Bytes expected = gp::retail_mac(rmac_key, icv, gp::pad80(input, 8));
          BOOST_REQUIRE_EQUAL(wrapped.data.size(), answer.data.size() + 8);
          BOOST_TEST(to_hex(Bytes(wrapped.data.end() - 8, wrapped.data.end())) == to_hex(expected));
          BOOST_TEST(to_hex(host.unwrap(wrapped).data) == to_hex(answer.data));
          BOOST_TEST(to_hex(plain.data) == to_hex(cmd.data));
          icv = expected;
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_out_of_order_response_breaks_the_r_mac_chain) {
  const gp::StaticKeys keys{gp::random_secure(16), gp::random_secure(16), gp::random_secure(16)};
  gp::Scp02CardOptions opt;
  opt.i = 0x15;
  opt.kdd = Bytes(10, 0x01);
  gp::Scp02Card card(keys, opt);
  gp::Scp02Host host(keys, {0x15, std::nullopt});
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  host.confirm_external_authenticate(
      card.external_authenticate(gp::CommandApdu::parse(host.external_authenticate(iu, gp::SecurityLevel(0x11)))).response);
  const gp::CommandApdu cmd(0x80, 0xCA, 0x00, 0x66, Bytes{}, 256u);
  card.unwrap(host.wrap(cmd));
  // The host must unwrap before it sends the next command: R-MACs chain in SCP02.
  BOOST_CHECK_EXCEPTION(host.wrap(cmd), gp::GpError,
                        [](const gp::GpError& e) { return e.code() == gp::Errc::SecurityNotSatisfied; });
}

BOOST_AUTO_TEST_SUITE_END()
