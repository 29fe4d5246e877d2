// SCP02 failures: each gives its own GpError code, closes the session, and never crashes.
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/scp02.h"

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

gp::StaticKeys test_keys() {
  return {gp::secure_from_hex("404142434445464748494A4B4C4D4E4F"), gp::secure_from_hex("505152535455565758595A5B5C5D5E5F"),
          gp::secure_from_hex("606162636465666768696A6B6C6D6E6F")};
}

gp::Scp02CardOptions card_options(std::uint8_t i = 0x55) {
  gp::Scp02CardOptions o;
  o.i = i;
  o.kvn = 0x20;
  o.kdd = gp::from_hex("00010203040506070809");
  o.sequence_counter = 0x0100;
  o.aid = kIsdAid;
  return o;
}

// A host and a card, handshake done step by step so a test can interfere anywhere.
struct Pair {
  gp::Scp02Host host;
  gp::Scp02Card card;
  Bytes ea;  // wire bytes of EXTERNAL AUTHENTICATE

  explicit Pair(gp::SecurityLevel level, gp::StaticKeys host_keys = test_keys(), std::uint8_t i = 0x55)
      : host(std::move(host_keys), {i, kIsdAid}), card(test_keys(), card_options(i)) {
    const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
    ea = host.external_authenticate(iu, level);
  }
  void open() {
    host.confirm_external_authenticate(card.external_authenticate(gp::CommandApdu::parse(ea)).response);
    BOOST_REQUIRE(host.is_open() && card.is_open());
  }
  // One command there and back.
  gp::ResponseApdu exchange(const gp::CommandApdu& cmd, const gp::ResponseApdu& answer) {
    card.unwrap(host.wrap(cmd));
    return host.unwrap(card.wrap(answer));
  }
};

const gp::CommandApdu kStoreData(0x80, 0xE2, 0x80, 0x00, gp::from_hex("0102030405060708090A"));

}  // namespace

BOOST_AUTO_TEST_SUITE(scp02_negative)

BOOST_AUTO_TEST_CASE(wrong_card_cryptogram) {
  auto other = test_keys();
  other.enc[3] ^= 0x02;  // the host holds another ENC key (bit 0 would only be parity)
  gp::Scp02Host host(other, {0x15, std::nullopt});
  gp::Scp02Card card(test_keys(), card_options(0x15));
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError, has_code(Errc::CryptogramMismatch));
  BOOST_TEST(!host.is_open());
  BOOST_CHECK_EXCEPTION(host.wrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));

  // Right keys, but the cryptogram altered on the way.
  gp::Scp02Host host2(test_keys(), {0x15, std::nullopt});
  auto iu2 = card.initialize_update(host2.initialize_update(0x00)).response;
  iu2.data[27] ^= 0x40;
  BOOST_CHECK_EXCEPTION(host2.external_authenticate(iu2, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::CryptogramMismatch));
}

BOOST_AUTO_TEST_CASE(pseudo_random_challenge_is_checked_when_the_aid_is_known) {
  gp::Scp02Host host(test_keys(), {0x55, gp::from_hex("A0000000030000")});  // not the AID the card uses
  gp::Scp02Card card(test_keys(), card_options(0x55));
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError, has_code(Errc::CryptogramMismatch));
  // The challenge really is the i=55 value: the C-MAC session key over the padded AID.
  const auto sk = gp::scp02_session_keys(test_keys(), 0x0100);
  BOOST_TEST(gp::to_hex(gp::InitializeUpdateResponse::parse(iu.data).card_challenge) ==
             gp::to_hex(gp::scp02_pseudo_random_card_challenge(sk.cmac, kIsdAid)));
}

BOOST_AUTO_TEST_CASE(wrong_host_cryptogram) {
  Pair p(gp::SecurityLevel(0x01));
  auto ea = gp::CommandApdu::parse(p.ea);
  ea.data[0] ^= 0x01;
  BOOST_CHECK_EXCEPTION(p.card.external_authenticate(ea), gp::GpError, has_code(Errc::CryptogramMismatch));
  BOOST_TEST(!p.card.is_open());
  // The failed attempt ended the session: the genuine command is no longer accepted either.
  BOOST_CHECK_EXCEPTION(p.card.external_authenticate(gp::CommandApdu::parse(p.ea)), gp::GpError,
                        has_code(Errc::SecurityNotSatisfied));
}

BOOST_AUTO_TEST_CASE(wrong_mac_key_fails_at_the_card) {
  // The right ENC key lets the host verify the card and compute the host cryptogram; a wrong
  // MAC key gives a C-MAC the card rejects.
  auto other = test_keys();
  other.mac[0] ^= 0x02;
  Pair p(gp::SecurityLevel(0x01), other, 0x15);  // i=15: no pseudo-random challenge to trip over first
  BOOST_CHECK_EXCEPTION(p.card.external_authenticate(gp::CommandApdu::parse(p.ea)), gp::GpError,
                        has_code(Errc::MacMismatch));
  BOOST_TEST(!p.card.is_open());
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_the_c_mac_of_external_authenticate) {
  Pair p(gp::SecurityLevel(0x03));
  auto ea = gp::CommandApdu::parse(p.ea);
  ea.data[15] ^= 0x01;
  BOOST_CHECK_EXCEPTION(p.card.external_authenticate(ea), gp::GpError, has_code(Errc::MacMismatch));
  BOOST_TEST(!p.card.is_open());
}

BOOST_AUTO_TEST_CASE(flipped_bit_in_a_command_c_mac_header_or_data) {
  for (std::size_t where : {0u, 1u, 2u}) {
    BOOST_TEST_CONTEXT("tamper " << where) {
      Pair p(gp::SecurityLevel(0x01));
      p.open();
      p.exchange(kStoreData, {{}, 0x9000});
      auto wrapped = gp::CommandApdu::parse(p.host.wrap(kStoreData));
      if (where == 0) wrapped.data.back() ^= 0x01;  // the C-MAC
      if (where == 1) wrapped.data.front() ^= 0x01;  // the data it covers
      if (where == 2) wrapped.p2 ^= 0x01;            // the header it covers
      BOOST_CHECK_EXCEPTION(p.card.unwrap(wrapped), gp::GpError, has_code(Errc::MacMismatch));
      BOOST_TEST(!p.card.is_open());
      BOOST_CHECK_EXCEPTION(p.card.unwrap(p.host.wrap(kStoreData)), gp::GpError, has_code(Errc::SecurityNotSatisfied));
    }
  }
}

BOOST_AUTO_TEST_CASE(replayed_command) {
  Pair p(gp::SecurityLevel(0x03));
  p.open();
  const Bytes first = p.host.wrap(kStoreData);
  p.card.unwrap(first);
  p.host.unwrap(p.card.wrap({{}, 0x9000}).encode());
  BOOST_CHECK_EXCEPTION(p.card.unwrap(first), gp::GpError, has_code(Errc::CounterReplay));
  BOOST_TEST(!p.card.is_open());

  // An older command (not the last one) no longer fits the MAC chain.
  Pair q(gp::SecurityLevel(0x01));
  q.open();
  const Bytes one = q.host.wrap(kStoreData);
  q.card.unwrap(one);
  q.host.unwrap(q.card.wrap({{}, 0x9000}).encode());
  q.exchange(kStoreData, {{}, 0x9000});
  BOOST_CHECK_EXCEPTION(q.card.unwrap(one), gp::GpError, has_code(Errc::MacMismatch));
  // Replaying EXTERNAL AUTHENTICATE into an open session.
  Pair r(gp::SecurityLevel(0x01));
  r.open();
  BOOST_CHECK_EXCEPTION(r.card.external_authenticate(gp::CommandApdu::parse(r.ea)), gp::GpError,
                        has_code(Errc::CounterReplay));
}

BOOST_AUTO_TEST_CASE(bad_r_mac) {
  for (std::size_t where : {0u, 1u, 2u}) {
    BOOST_TEST_CONTEXT("tamper " << where) {
      Pair p(gp::SecurityLevel(0x13));
      p.open();
      p.exchange(kStoreData, {gp::from_hex("6F10"), 0x9000});
      p.card.unwrap(p.host.wrap(kStoreData));
      auto resp = p.card.wrap({gp::from_hex("A5A5A5"), 0x9000});
      if (where == 0) resp.data.back() ^= 0x01;   // the R-MAC
      if (where == 1) resp.data.front() ^= 0x01;  // the data it covers
      if (where == 2) resp.sw = 0x6310;           // the status word it covers
      BOOST_CHECK_EXCEPTION(p.host.unwrap(resp), gp::GpError, has_code(Errc::MacMismatch));
      BOOST_TEST(!p.host.is_open());
    }
  }
}

BOOST_AUTO_TEST_CASE(truncated_wrapped_apdus) {
  Pair p(gp::SecurityLevel(0x03));
  p.open();
  Bytes wire = p.host.wrap(kStoreData);
  wire.pop_back();  // Lc no longer matches
  BOOST_CHECK_EXCEPTION(p.card.unwrap(wire), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!p.card.is_open());  // a malformed command ends the session as well

  Pair q(gp::SecurityLevel(0x01));
  q.open();
  BOOST_CHECK_EXCEPTION(q.card.unwrap(gp::from_hex("84E2000004CAFEBABE")), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!q.card.is_open());

  Pair r(gp::SecurityLevel(0x11));
  r.open();
  r.card.unwrap(r.host.wrap(kStoreData));
  r.card.wrap({{}, 0x9000});
  BOOST_CHECK_EXCEPTION(r.host.unwrap(gp::from_hex("0102039000")), gp::GpError, has_code(Errc::ApduMalformed));
  BOOST_TEST(!r.host.is_open());
  BOOST_CHECK_EXCEPTION(gp::ResponseApdu::parse(gp::from_hex("90")), gp::GpError, has_code(Errc::ApduMalformed));
}

BOOST_AUTO_TEST_CASE(bad_padding_after_decryption) {
  Pair p(gp::SecurityLevel(0x03));
  p.open();
  // Data encrypted without the 80 00.. padding: whatever the MAC, decryption exposes it first
  // (SCP02 MACs the plain data).
  const Bytes unpadded(8, 0x11);
  const Bytes cipher = gp::cbc_encrypt(gp::Cipher::Des3, p.card.session_keys().enc, Bytes(8, 0), unpadded);
  const gp::CommandApdu forged(0x84, 0xE2, 0x80, 0x00, gp::concat({cipher, Bytes(8, 0x00)}));
  BOOST_CHECK_EXCEPTION(p.card.unwrap(forged), gp::GpError, has_code(Errc::PaddingInvalid));
  BOOST_TEST(!p.card.is_open());

  Pair q(gp::SecurityLevel(0x03));
  q.open();
  const gp::CommandApdu ragged(0x84, 0xE2, 0x80, 0x00, Bytes(5 + 8, 0x22));  // not whole 3DES blocks
  BOOST_CHECK_EXCEPTION(q.card.unwrap(ragged), gp::GpError, has_code(Errc::ApduMalformed));
}

BOOST_AUTO_TEST_CASE(levels_and_states) {
  BOOST_CHECK_EXCEPTION(gp::SecurityLevel(0x02), gp::GpError, has_code(Errc::InvalidArgument));
  BOOST_CHECK_EXCEPTION(gp::SecurityLevel(0x10), gp::GpError, has_code(Errc::InvalidArgument));
  BOOST_TEST(gp::SecurityLevel(0x33).to_string() == "C-MAC+C-DECRYPTION+R-MAC+R-ENCRYPTION");
  gp::Scp02Host host(test_keys());
  gp::Scp02Card card(test_keys(), card_options());
  const auto iu = card.initialize_update(host.initialize_update(0x00)).response;
  BOOST_CHECK_EXCEPTION(host.external_authenticate(iu, gp::SecurityLevel(0x33)), gp::GpError, has_code(Errc::Unsupported));

  gp::Scp02Host idle(test_keys());
  BOOST_CHECK_EXCEPTION(idle.wrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  BOOST_CHECK_EXCEPTION(idle.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::SecurityNotSatisfied));
  gp::Scp02Card fresh(test_keys(), card_options());
  BOOST_CHECK_EXCEPTION(fresh.unwrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  BOOST_CHECK_EXCEPTION(fresh.external_authenticate(gp::CommandApdu(0x84, 0x82, 0x01, 0x00, Bytes(16, 0))), gp::GpError,
                        has_code(Errc::SecurityNotSatisfied));

  // A plain command inside a C-MAC session.
  Pair p(gp::SecurityLevel(0x01));
  p.open();
  BOOST_CHECK_EXCEPTION(p.card.unwrap(kStoreData), gp::GpError, has_code(Errc::SecurityNotSatisfied));
  // The card refuses a level SCP02 does not have.
  Pair q(gp::SecurityLevel(0x01));
  auto ea = gp::CommandApdu::parse(q.ea);
  ea.p1 = 0x33;
  BOOST_CHECK_EXCEPTION(q.card.external_authenticate(ea), gp::GpError, has_code(Errc::Unsupported));
}

BOOST_AUTO_TEST_CASE(initialize_update_problems) {
  gp::Scp02Card card(test_keys(), card_options());
  gp::Scp02Host host(test_keys());
  BOOST_CHECK_EXCEPTION(card.initialize_update(host.initialize_update(0x21)), gp::GpError, has_code(Errc::InvalidArgument));
  BOOST_CHECK_EXCEPTION(card.initialize_update(gp::CommandApdu(0x80, 0x50, 0x00, 0x00, Bytes(7, 1), 256u)), gp::GpError,
                        has_code(Errc::InvalidLength));
  BOOST_CHECK_EXCEPTION(card.initialize_update(gp::CommandApdu(0x80, 0x50, 0x00, 0x00, Bytes(16, 1), 256u)), gp::GpError,
                        has_code(Errc::InvalidLength));

  // The host asked for key version 21; the card answers for 20.
  gp::Scp02Host host21(test_keys());
  host21.initialize_update(0x21);
  const auto iu = card.initialize_update(gp::InitializeUpdateCommand{0x00, 0x00, Bytes(8, 3)}.to_apdu()).response;
  BOOST_CHECK_EXCEPTION(host21.external_authenticate(iu, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::InvalidArgument));

  gp::Scp02Host h(test_keys());
  h.initialize_update(0x00);
  Bytes short_answer(27, 0);
  short_answer[11] = 0x02;
  BOOST_CHECK_EXCEPTION(h.external_authenticate({short_answer, 0x9000}, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::InvalidLength));
  h.initialize_update(0x00);
  BOOST_CHECK_EXCEPTION(h.external_authenticate({{}, 0x6A88}, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::SecurityNotSatisfied));
  h.initialize_update(0x00);
  Bytes scp03_answer(32, 0);
  scp03_answer[11] = 0x03;
  scp03_answer[12] = 0x70;
  BOOST_CHECK_EXCEPTION(h.external_authenticate({scp03_answer, 0x9000}, gp::SecurityLevel(0x01)), gp::GpError,
                        has_code(Errc::Unsupported));

  auto exhausted = card_options();
  exhausted.sequence_counter = 0xFFFF;
  gp::Scp02Card old(test_keys(), exhausted);
  BOOST_CHECK_EXCEPTION(old.initialize_update(host.initialize_update(0x00)), gp::GpError, has_code(Errc::CounterReplay));

  BOOST_CHECK_EXCEPTION(gp::Scp02Host(test_keys(), {0x1A, std::nullopt}), gp::GpError, has_code(Errc::Unsupported));
  auto des3 = test_keys();
  des3.mac.resize(24, 0x01);
  BOOST_CHECK_EXCEPTION(gp::Scp02Host(des3, {}), gp::GpError, has_code(Errc::InvalidLength));
}

BOOST_AUTO_TEST_CASE(error_status_carries_no_r_mac) {
  Pair p(gp::SecurityLevel(0x11));
  p.open();
  p.card.unwrap(p.host.wrap(kStoreData));
  const auto resp = p.card.wrap({gp::from_hex("0102"), 0x6A80});
  BOOST_TEST(resp.data.empty());
  BOOST_TEST(p.host.unwrap(resp).sw == 0x6A80);
  // The chain is intact afterwards.
  BOOST_TEST(gp::to_hex(p.exchange(kStoreData, {gp::from_hex("AB"), 0x9000}).data) == "AB");
  // An error status that carries data is not a response the card can give.
  p.card.unwrap(p.host.wrap(kStoreData));
  p.card.wrap({{}, 0x9000});
  BOOST_CHECK_EXCEPTION(p.host.unwrap(gp::ResponseApdu{gp::from_hex("0102"), 0x6A80}), gp::GpError,
                        has_code(Errc::ApduMalformed));
}

BOOST_AUTO_TEST_SUITE_END()
