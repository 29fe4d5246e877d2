// SCP03 S16 mode has no public trace in tests/vectors. This test writes the Amd D S16 rules
// out by hand (16-byte challenges, L = 0080 for cryptograms and the pseudo-random challenge,
// 16-byte C-MAC and R-MAC) and checks the host's and the card's bytes against them.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/scp03.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {
// The KDF of Amd D 4.1.5 with one or two CMAC blocks, written out.
Bytes kdf(gp::ByteView key, std::uint8_t constant, gp::ByteView context, std::uint16_t bits) {
  Bytes out;
  for (std::uint8_t i = 1; out.size() < bits / 8u; ++i) {
    Bytes in(11, 0x00);
    in.insert(in.end(), {constant, 0x00, static_cast<std::uint8_t>(bits >> 8), static_cast<std::uint8_t>(bits), i});
    in.insert(in.end(), context.begin(), context.end());
    const Bytes block = gp::aes_cmac(key, in);
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(bits / 8u);
  return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(scp03_s16)

BOOST_AUTO_TEST_CASE(s16_handshake_and_messages_by_hand) {
  const gp::StaticKeys keys{gp::secure_from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"),
                            gp::secure_from_hex("202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F"),
                            gp::secure_from_hex("404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F")};
  const Bytes aid = gp::from_hex("A000000151000000");
  gp::Scp03CardOptions opt;
  opt.i = 0x71;
  opt.kvn = 0x31;
  opt.kdd = gp::from_hex("11223344556677889900");
  opt.sequence_counter = 0x00000C;
  opt.aid = aid;
  gp::Scp03Card card(keys, opt);
  gp::Scp03Host host(keys, {true, aid});
  const Bytes hc = gp::from_hex("000102030405060708090A0B0C0D0E0F");

  const auto iu_cmd = host.initialize_update(0x31, hc);
  BOOST_TEST(to_hex(iu_cmd.encode()) == "8050310010" + to_hex(hc) + "00");
  const auto iu = card.initialize_update(iu_cmd).response;
  BOOST_REQUIRE_EQUAL(iu.data.size(), 10u + 3 + 16 + 16 + 3);
  const Bytes cc(iu.data.begin() + 13, iu.data.begin() + 29);
  BOOST_TEST(to_hex(cc) == to_hex(kdf(keys.enc, 0x02, gp::concat({gp::from_hex("00000C"), aid}), 128)));
  const Bytes s_mac = kdf(keys.mac, 0x06, gp::concat({hc, cc}), 256);
  const Bytes s_rmac = kdf(keys.mac, 0x07, gp::concat({hc, cc}), 256);
  BOOST_TEST(to_hex(Bytes(iu.data.begin() + 29, iu.data.begin() + 45)) == to_hex(kdf(s_mac, 0x00, gp::concat({hc, cc}), 128)));

  const Bytes ea = host.external_authenticate(iu, gp::SecurityLevel(0x11));
  const Bytes host_cryptogram = kdf(s_mac, 0x01, gp::concat({hc, cc}), 128);
  Bytes mac_in(16, 0x00);
  mac_in.insert(mac_in.end(), {0x84, 0x82, 0x11, 0x00, 0x20});
  mac_in.insert(mac_in.end(), host_cryptogram.begin(), host_cryptogram.end());
  Bytes chaining = gp::aes_cmac(s_mac, mac_in);
  BOOST_TEST(to_hex(ea) == "8482110020" + to_hex(host_cryptogram) + to_hex(chaining));
  host.confirm_external_authenticate(card.external_authenticate(gp::CommandApdu::parse(ea)).response);

  // A command: C-MAC of 16 bytes over the chaining value; an R-MAC of 16 bytes back.
  const gp::CommandApdu cmd(0x80, 0xCA, 0x00, 0x66, Bytes{}, 256u);
  const Bytes wire = host.wrap(cmd);
  Bytes cmd_in(chaining);
  cmd_in.insert(cmd_in.end(), {0x84, 0xCA, 0x00, 0x66, 0x10});
  chaining = gp::aes_cmac(s_mac, cmd_in);
  BOOST_TEST(to_hex(wire) == "84CA006610" + to_hex(chaining) + "00");
  card.unwrap(wire);
  const auto resp = card.wrap({gp::from_hex("6601"), 0x9000});
  Bytes r_in(chaining);
  r_in.insert(r_in.end(), {0x66, 0x01, 0x90, 0x00});
  BOOST_TEST(to_hex(resp.data) == "6601" + to_hex(gp::aes_cmac(s_rmac, r_in)));
  BOOST_TEST(to_hex(host.unwrap(resp).data) == "6601");
}

BOOST_AUTO_TEST_SUITE_END()
