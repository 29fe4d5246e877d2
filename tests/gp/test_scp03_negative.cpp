// SCP03 failures: each gives its own GpError code, closes the session, and never crashes.
// Where a forged message needs a valid MAC (bad padding behind a good C-MAC or R-MAC), the
// test follows the MAC chain from the wire bytes with its own small Amd D calculation.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/scp03.h"

using namespace sekds;
using gp::Bytes;
using gp::Errc;

namespace {

auto has_code(Errc c) {
  return [c](const gp::GpError& e) {
    BOOST_TEST_MESSAGE("expected " << gp::errc_name(c) << ": " << e.what());
    return e.code() == c;
  };
}

const Bytes kIsdAid = gp::from_hex("A000000151000000");

gp::StaticKeys test_keys(std::size_t len = 16) {
  gp::StaticKeys k{gp::SecureBytes(len), gp::SecureBytes(len), gp::SecureBytes(len)};
  for (std::size_t b = 0; b < len; ++b) {
    k.enc[b] = static_cast<std::uint8_t>(0x40 + b);
    k.mac[b] = static_cast<std::uint8_t>(0x60 + b);
    k.dek[b] = static_cast<std::uint8_t>(0x80 + b);
  }
  return k;
}

gp::Scp03CardOptions card_options(std::uint8_t i = 0x70) {
  gp::Scp03CardOptions o;
  o.i = i;
  o.kvn = 0x30;
  o.kdd = gp::from_hex("00010203040506070809");
  o.sequence_counter = 0x000100;
  o.aid = kIsdAid;
  return o;
}

struct Pair {
  gp::Scp03Host host;
  gp::Scp03Card card;
  Bytes ea;

  explicit Pair(gp::SecurityLevel level, gp::StaticKeys host_keys = test_keys(), std::uint8_t i = 0x70)
      : host(std::move(host_keys), {(i & 1) != 0, kIsdAid}), card(test_keys(), card_options(i)) {
    const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
    ea = host.external_authenticate(iu, level);
  }
  void open() {
    host.confirm_external_authenticate(card.external_authenticate(gp::CommandApdu::parse(ea)).response);
    BOOST_REQUIRE(host.is_open() && card.is_open());
  }
  gp::ResponseApdu exchange(const gp::CommandApdu& cmd, const gp::ResponseApdu& answer) {
    card.unwrap(host.wrap(cmd));
    return host.unwrap(card.wrap(answer));
  }
};

// Amd D 6.2.4 / 6.2.5 / 6.2.6 written out again, to forge messages with valid MACs.
struct Oracle {
  gp::Scp03SessionKeys sk;
  Bytes chaining = Bytes(16, 0x00);

  // Follows the chain over a C-MACed command seen on the wire.
  void observe(const Bytes& wire) {
    const auto c = gp::CommandApdu::parse(wire);
    chaining = cmac(c.cla, c.ins, c.p1, c.p2, gp::ByteView(c.data).subspan(0, c.data.size() - 8));
  }
  Bytes cmac(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, gp::ByteView body) const {
    Bytes in(chaining);
    in.insert(in.end(), {cla, ins, p1, p2, static_cast<std::uint8_t>(body.size() + 8)});
    in.insert(in.end(), body.begin(), body.end());
    return gp::aes_cmac(sk.mac, in);
  }
  // A command with a valid C-MAC around `body` (already encrypted or not).
  Bytes forge_command(std::uint8_t ins, gp::ByteView body) {
    chaining = cmac(0x84, ins, 0x00, 0x00, body);
    return gp::CommandApdu(0x84, ins, 0x00, 0x00, gp::concat({body, gp::ByteView(chaining).subspan(0, 8)})).encode();
  }
  gp::ResponseApdu forge_response(gp::ByteView body) const {
    Bytes in(chaining);
    in.insert(in.end(), body.begin(), body.end());
    in.insert(in.end(), {0x90, 0x00});
    Bytes mac = gp::aes_cmac(sk.rmac, in);
    mac.resize(8);
    return {gp::concat({body, mac}), 0x9000};
  }
  Bytes encrypt(std::uint64_t counter, bool response, gp::ByteView data) const {
    return gp::cbc_encrypt(gp::Cipher::Aes, sk.enc, gp::scp03_encryption_icv(sk.enc, counter, response), data);
  }
};

const gp::CommandApdu kStoreData(0x80, 0xE2, 0x80, 0x00, gp::from_hex("0102030405060708090A"));

}  // namespace

BOOST_AUTO_TEST_SUITE(scp03_negative)

BOOST_AUTO_TEST_CASE(wrong_card_cryptogram) {
  auto other = test_keys();
  other.mac[5] ^= 0x01;
  gp::Scp03Host host(other, {false, std::nullopt});
  gp::Scp03Card card(test_keys(), card_options(0x70));
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x33)), gp::GpError, has_code(Errc::CryptogramMismatch));
  BOOST_TEST(!host.is_open());
  BOOST_CHECK_EXCEPTION(host.wrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));

  gp::Scp03Host host2(test_keys(), {false, std::nullopt});
  auto iu2 = card.initialize_update(host2.initialize_update(0x00)).response;
  iu2.data[21] ^= 0x01;  // first cryptogram byte (KDD 10, KVN, SCP, i, challenge 8)
  BOOST_CHECK_EXCEPTION(host2.external_authenticate(iu2, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::CryptogramMismatch));
}

BOOST_AUTO_TEST_CASE(pseudo_random_challenge_is_checked_when_the_aid_is_known) {
  gp::Scp03Host host(test_keys(), {false, gp::from_hex("A0000000030000")});
  gp::Scp03Card card(test_keys(), card_options(0x70));
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError, has_code(Errc::CryptogramMismatch));
  // A host that does not know the AID takes the challenge as it comes (the cryptogram still proves the card).
  gp::Scp03Host lenient(test_keys(), {false, std::nullopt});
  const auto iu2 = card.initialize_update(lenient.initialize_update(0x00)).response;
  BOOST_CHECK_NO_THROW(lenient.external_authenticate(iu2, gp::SecurityLevel(0x01)));
}

BOOST_AUTO_TEST_CASE(wrong_host_cryptogram_and_wrong_ea_mac) {
  Pair p(gp::SecurityLevel(0x33));
  auto ea = gp::CommandApdu::parse(p.ea);
  ea.data[2] ^= 0x10;
  BOOST_CHECK_EXCEPTION(p.card.external_authenticate(ea), gp::GpError, has_code(Errc::CryptogramMismatch));
  BOOST_TEST(!p.card.is_open());

  Pair q(gp::SecurityLevel(0x33));
  auto ea2 = gp::CommandApdu::parse(q.ea);
  ea2.data.back() ^= 0x10;
  BOOST_CHECK_EXCEPTION(q.card.external_authenticate(ea2), gp::GpError, has_code(Errc::MacMismatch));

  // The security level is covered by the C-MAC too.
  Pair r(gp::SecurityLevel(0x13));
  auto ea3 = gp::CommandApdu::parse(r.ea);
  ea3.p1 = 0x11;
  BOOST_CHECK_EXCEPTION(r.card.external_authenticate(ea3), gp::GpError, has_code(Errc::MacMismatch));
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_a_command_c_mac_header_or_data) {
  for (std::size_t where : {0u, 1u, 2u}) {
    BOOST_TEST_CONTEXT("tamper " << where) {
      Pair p(gp::SecurityLevel(0x03));
      p.open();
      p.exchange(kStoreData, {{}, 0x9000});
      auto wrapped = gp::CommandApdu::parse(p.host.wrap(kStoreData));
      if (where == 0) wrapped.data.back() ^= 0x01;
      if (where == 1) wrapped.data.front() ^= 0x01;
      if (where == 2) wrapped.ins ^= 0x01;
      BOOST_CHECK_EXCEPTION(p.card.unwrap(wrapped), gp::GpError, has_code(Errc::MacMismatch));
      BOOST_TEST(!p.card.is_open());
      BOOST_CHECK_EXCEPTION(p.card.unwrap(p.host.wrap(kStoreData)), gp::GpError, has_code(Errc::SecurityNotSatisfied));
    }
  }
}

BOOST_AUTO_TEST_CASE(replayed_command) {
  Pair p(gp::SecurityLevel(0x33));
  p.open();
  const Bytes first = p.host.wrap(kStoreData);
  p.card.unwrap(first);
  p.host.unwrap(p.card.wrap({{}, 0x9000}));
  BOOST_CHECK_EXCEPTION(p.card.unwrap(first), gp::GpError, has_code(Errc::CounterReplay));
  BOOST_TEST(!p.card.is_open());

  Pair q(gp::SecurityLevel(0x01));
  q.open();
  const Bytes one = q.host.wrap(kStoreData);
  q.card.unwrap(one);
  q.card.wrap({{}, 0x9000});
  q.exchange(kStoreData, {{}, 0x9000});
  BOOST_CHECK_EXCEPTION(q.card.unwrap(one), gp::GpError, has_code(Errc::MacMismatch));
}

BOOST_AUTO_TEST_CASE(bad_r_mac) {
  for (std::size_t where : {0u, 1u, 2u}) {
    BOOST_TEST_CONTEXT("tamper " << where) {
      Pair p(gp::SecurityLevel(0x33));
      p.open();
      p.card.unwrap(p.host.wrap(kStoreData));
      auto resp = p.card.wrap({gp::from_hex("A5A5A5"), 0x9000});
      if (where == 0) resp.data.back() ^= 0x01;
      if (where == 1) resp.data.front() ^= 0x01;
      if (where == 2) resp.sw = 0x6200;
      BOOST_CHECK_EXCEPTION(p.host.unwrap(resp), gp::GpError, has_code(Errc::MacMismatch));
      BOOST_TEST(!p.host.is_open());
    }
  }
  // A response meant for another command (the chaining value moved on).
  Pair q(gp::SecurityLevel(0x11));
  q.open();
  q.card.unwrap(q.host.wrap(kStoreData));
  const auto old = q.card.wrap({gp::from_hex("01"), 0x9000});
  q.host.unwrap(old);
  q.card.unwrap(q.host.wrap(kStoreData));
  q.card.wrap({gp::from_hex("01"), 0x9000});
  BOOST_CHECK_EXCEPTION(q.host.unwrap(old), gp::GpError, has_code(Errc::MacMismatch));
}

BOOST_AUTO_TEST_CASE(truncated_wrapped_apdus) {
  Pair p(gp::SecurityLevel(0x03));
  p.open();
  Bytes wire = p.host.wrap(kStoreData);
  wire.resize(wire.size() - 3);
  BOOST_CHECK_EXCEPTION(p.card.unwrap(wire), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!p.card.is_open());  // a malformed command ends the session as well

  Pair q(gp::SecurityLevel(0x01));
  q.open();
  BOOST_CHECK_EXCEPTION(q.card.unwrap(gp::from_hex("84E200000401020304")), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!q.card.is_open());

  Pair r(gp::SecurityLevel(0x11));
  r.open();
  r.card.unwrap(r.host.wrap(kStoreData));
  r.card.wrap({{}, 0x9000});
  BOOST_CHECK_EXCEPTION(r.host.unwrap(gp::from_hex("01020304059000")), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!r.host.is_open());
}

BOOST_AUTO_TEST_CASE(bad_padding_after_decryption_of_a_command) {
  Pair p(gp::SecurityLevel(0x03));
  Oracle o{p.card.session_keys()};
  o.observe(p.ea);
  p.open();
  // Encryption counter 1, data without the 80 00.. padding, under a valid C-MAC.
  const Bytes body = o.encrypt(1, false, Bytes(16, 0x11));
  BOOST_CHECK_EXCEPTION(p.card.unwrap(o.forge_command(0xE2, body)), gp::GpError, has_code(Errc::PaddingInvalid));
  BOOST_TEST(!p.card.is_open());

  // Padding must end within the last block: 80 followed by a whole block of zeros is not padding.
  Pair p2(gp::SecurityLevel(0x03));
  Oracle o2{p2.card.session_keys()};
  o2.observe(p2.ea);
  p2.open();
  const Bytes overlong = gp::concat({gp::pad80(Bytes(15, 0x11), 16), Bytes(16, 0x00)});
  BOOST_CHECK_EXCEPTION(p2.card.unwrap(o2.forge_command(0xE2, o2.encrypt(1, false, overlong))), gp::GpError,
                        has_code(Errc::PaddingInvalid));

  // Sanity check of the oracle: the same forgery with padding is accepted.
  Pair q(gp::SecurityLevel(0x03));
  Oracle oq{q.card.session_keys()};
  oq.observe(q.ea);
  q.open();
  const auto plain = q.card.unwrap(oq.forge_command(0xE2, oq.encrypt(1, false, gp::pad80(Bytes(15, 0x11), 16))));
  BOOST_TEST(gp::to_hex(plain.data) == gp::to_hex(Bytes(15, 0x11)));

  // Ciphertext that is not whole AES blocks.
  Pair r(gp::SecurityLevel(0x03));
  Oracle orr{r.card.session_keys()};
  orr.observe(r.ea);
  r.open();
  BOOST_CHECK_EXCEPTION(r.card.unwrap(orr.forge_command(0xE2, Bytes(20, 0x33))), gp::GpError, has_code(Errc::ApduMalformed));
}

BOOST_AUTO_TEST_CASE(bad_padding_after_decryption_of_a_response) {
  Pair p(gp::SecurityLevel(0x33));
  Oracle o{p.host.session_keys()};
  o.observe(p.ea);
  p.open();
  const Bytes wire = p.host.wrap(kStoreData);
  o.observe(wire);
  p.card.unwrap(wire);
  p.card.wrap({{}, 0x9000});
  // R-ENCRYPTION ICV under counter 1 (the command's), data without padding, under a valid R-MAC.
  const auto forged = o.forge_response(o.encrypt(1, true, Bytes(16, 0x22)));
  BOOST_CHECK_EXCEPTION(p.host.unwrap(forged), gp::GpError, has_code(Errc::PaddingInvalid));
  BOOST_TEST(!p.host.is_open());

  // Sanity check: properly padded, the forgery decrypts.
  Pair q(gp::SecurityLevel(0x33));
  Oracle oq{q.host.session_keys()};
  oq.observe(q.ea);
  q.open();
  const Bytes wire2 = q.host.wrap(kStoreData);
  oq.observe(wire2);
  q.card.unwrap(wire2);
  q.card.wrap({{}, 0x9000});
  const auto ok = q.host.unwrap(oq.forge_response(oq.encrypt(1, true, gp::pad80(gp::from_hex("C0FFEE"), 16))));
  BOOST_TEST(gp::to_hex(ok.data) == "C0FFEE");
}

BOOST_AUTO_TEST_CASE(levels_modes_and_states) {
  // i=10 offers neither R-MAC nor R-ENCRYPTION.
  gp::Scp03Host host(test_keys(), {false, kIsdAid});
  gp::Scp03Card card(test_keys(), card_options(0x10));
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x11)), gp::GpError, has_code(Errc::Unsupported));

  // S8 host, S16 card and the other way round.
  gp::Scp03Card s16(test_keys(), card_options(0x71));
  gp::Scp03Host s8host(test_keys(), {false, std::nullopt});
  BOOST_CHECK_EXCEPTION(s16.initialize_update(s8host.initialize_update(0x00)), gp::GpError, has_code(Errc::InvalidLength));
  gp::Scp03Host s16host(test_keys(), {true, std::nullopt});
  gp::Scp03Card s8(test_keys(), card_options(0x70));
  const auto iu8 = s8.initialize_update(gp::InitializeUpdateCommand{0, 0, Bytes(8, 1)}.to_apdu()).response;
  s16host.initialize_update(0x00);
  BOOST_CHECK_EXCEPTION(s16host.external_authenticate(iu8, gp::SecurityLevel(0x01)), gp::GpError, has_code(Errc::Unsupported));

  // RFU bits of i, and R-ENCRYPTION without R-MAC.
  BOOST_CHECK_EXCEPTION(gp::Scp03Card(test_keys(), card_options(0x72)), gp::GpError, has_code(Errc::Unsupported));
  BOOST_CHECK_EXCEPTION(gp::Scp03Card(test_keys(), card_options(0x50)), gp::GpError, has_code(Errc::Unsupported));
  BOOST_CHECK_EXCEPTION(gp::Scp03Host(test_keys(15), {}), gp::GpError, has_code(Errc::InvalidLength));

  gp::Scp03Host idle(test_keys());
  BOOST_CHECK_EXCEPTION(idle.wrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  gp::Scp03Card fresh(test_keys(), card_options());
  BOOST_CHECK_EXCEPTION(fresh.unwrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  Pair p(gp::SecurityLevel(0x01));
  p.open();
  BOOST_CHECK_EXCEPTION(p.card.unwrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  BOOST_CHECK_EXCEPTION(p.host.unwrap(gp::ResponseApdu{{}, 0x9000}), gp::GpError, has_code(Errc::SecurityNotSatisfied));
}

BOOST_AUTO_TEST_CASE(initialize_update_problems) {
  gp::Scp03Card card(test_keys(), card_options());
  gp::Scp03Host host(test_keys());
  BOOST_CHECK_EXCEPTION(card.initialize_update(host.initialize_update(0x31)), gp::GpError, has_code(Errc::InvalidArgument));

  auto exhausted = card_options(0x70);
  exhausted.sequence_counter = 0xFFFFFF;
  gp::Scp03Card old(test_keys(), exhausted);
  BOOST_CHECK_EXCEPTION(old.initialize_update(host.initialize_update(0x00)), gp::GpError, has_code(Errc::CounterReplay));

  // A pseudo-random challenge without the counter that makes it checkable.
  gp::Scp03Host h(test_keys());
  h.initialize_update(0x00);
  auto iu = card.initialize_update(gp::InitializeUpdateCommand{0, 0, Bytes(8, 1)}.to_apdu()).response;
  iu.data.resize(29);
  BOOST_CHECK_EXCEPTION(h.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError, has_code(Errc::InvalidLength));
  h.initialize_update(0x00);
  BOOST_CHECK_EXCEPTION(h.external_authenticate({Bytes(30, 0x03), 0x9000}, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::InvalidLength));
  BOOST_CHECK_EXCEPTION(gp::InitializeUpdateResponse::parse(Bytes(5, 0)), gp::GpError, has_code(Errc::InvalidLength));
  // Fuzz finding F1: 12 bytes naming SCP '03' end before the 'i' byte (ASan saw the over-read).
  Bytes twelve(12, 0x00);
  twelve[11] = 0x03;
  BOOST_CHECK_EXCEPTION(gp::InitializeUpdateResponse::parse(twelve), gp::GpError, has_code(Errc::InvalidLength));
}

BOOST_AUTO_TEST_CASE(error_status_carries_no_r_mac) {
  Pair p(gp::SecurityLevel(0x33));
  p.open();
  p.card.unwrap(p.host.wrap(kStoreData));
  const auto resp = p.card.wrap({gp::from_hex("0102"), 0x6982});
  BOOST_TEST(resp.data.empty());
  BOOST_TEST(p.host.unwrap(resp).sw == 0x6982);
  BOOST_TEST(gp::to_hex(p.exchange(kStoreData, {gp::from_hex("AB"), 0x9000}).data) == "AB");
}

BOOST_AUTO_TEST_SUITE_END()
