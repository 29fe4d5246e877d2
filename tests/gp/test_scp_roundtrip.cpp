// Host <-> card round trips through a card APDU loop, for every i and security level of
// SCP02 and SCP03 this implementation speaks. Each session sends a script of commands in a
// row (MAC chaining, encryption counter): empty data, Le only, block boundaries, 240 and
// 300 bytes (extended length once wrapped), an error status; the card application must see
// every plain command and the host must get every plain response.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <tuple>
#include <vector>

#include "gp/error.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

const Bytes kIsdAid = gp::from_hex("A000000151000000");

// A card's APDU loop: handshake commands to the session, everything else unwrapped,
// answered by a small application, and wrapped.
struct CardLoop {
  gp::CardSession& session;
  std::vector<gp::CommandApdu> seen;
  std::optional<std::uint32_t> persisted_counter;

  static gp::ResponseApdu application(const gp::CommandApdu& c) {
    if (c.p1 == 0xEE) return {{}, 0x6A88};  // referenced data not found
    Bytes d(c.data.rbegin(), c.data.rend());
    d.push_back(c.ins);
    return {d, c.p1 == 0xAA ? std::uint16_t{0x6310} : std::uint16_t{0x9000}};  // 63xx is a warning, not an error
  }

  Bytes operator()(gp::ByteView raw) {
    const auto cmd = gp::CommandApdu::parse(raw);
    if (cmd.ins == gp::kInsInitializeUpdate && (cmd.cla & gp::kClaSecureMessaging) == 0) return step(session.initialize_update(cmd));
    if (cmd.ins == gp::kInsExternalAuthenticate) return step(session.external_authenticate(cmd));
    const auto plain = session.unwrap(cmd);
    seen.push_back(plain);
    return session.wrap(application(plain)).encode();
  }

  Bytes step(const gp::CardStep& s) {
    if (s.next_sequence_counter) persisted_counter = s.next_sequence_counter;
    return s.response.encode();
  }
};

std::vector<gp::CommandApdu> script() {
  std::vector<gp::CommandApdu> s;
  s.emplace_back(0x80, 0xF2, 0x20, 0x02);                                   // case 1: no data, no Le
  s.emplace_back(0x80, 0xCA, 0x00, 0x66, Bytes{}, 256u);                    // case 2: Le only
  s.emplace_back(0x80, 0xE2, 0x91, 0x00, gp::from_hex("BF3E035C015A"));     // case 3
  s.emplace_back(0x80, 0xF2, 0x40, 0x02, gp::from_hex("4F00"), 256u);       // case 4
  s.emplace_back(0x80, 0xE6, 0x0C, 0x00, Bytes(7, 0x07));                   // one short of a DES block
  s.emplace_back(0x80, 0xE6, 0x0C, 0x00, Bytes(8, 0x08));                   // a whole DES block
  s.emplace_back(0x80, 0xE6, 0x0C, 0x00, Bytes(16, 0x10), 256u);            // a whole AES block
  Bytes big(240);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i);
  s.emplace_back(0x80, 0xE8, 0x00, 0x00, big);                              // ~240 bytes
  s.emplace_back(0x80, 0xCA, 0xEE, 0x00, Bytes{}, 256u);                    // answered with an error status
  s.emplace_back(0x80, 0xCA, 0xAA, 0x00, Bytes{0x01}, 256u);                // answered with a warning
  Bytes huge(300, 0x5A);
  s.emplace_back(0x80, 0xE8, 0x80, 0x01, huge, 1000u);                      // extended length
  s.emplace_back(0x80, 0xF2, 0x20, 0x02);                                   // empty again, after all that
  return s;
}

void same_command(const gp::CommandApdu& got, const gp::CommandApdu& want) {
  BOOST_TEST(got.cla == want.cla);
  BOOST_TEST(got.ins == want.ins);
  BOOST_TEST(got.p1 == want.p1);
  BOOST_TEST(got.p2 == want.p2);
  BOOST_TEST(to_hex(got.data) == to_hex(want.data));
  BOOST_TEST(got.le.has_value() == want.le.has_value());
  if (got.le && want.le) BOOST_TEST(*got.le == *want.le);
}

// Opens the channel and runs the script; returns how many commands came through.
std::size_t run_session(gp::HostSession& host, CardLoop& card, gp::SecurityLevel level) {
  const gp::Transmit transmit = [&card](gp::ByteView raw) { return card(raw); };
  gp::open_secure_channel(host, transmit, 0x00, level);
  BOOST_REQUIRE(host.is_open());
  BOOST_REQUIRE(card.session.is_open());
  BOOST_TEST(host.security_level().byte() == level.byte());
  BOOST_TEST(card.session.security_level().byte() == level.byte());
  card.seen.clear();
  std::size_t n = 0;
  for (const auto& cmd : script()) {
    BOOST_TEST_CONTEXT("command " << n << " " << to_hex(cmd.encode()).substr(0, 16)) {
      const Bytes wire = host.wrap(cmd);
      if (level.c_decryption() && cmd.data.size() >= 6)
        BOOST_TEST(to_hex(wire).find(to_hex(cmd.data)) == std::string::npos);  // the data is not in clear on the wire
      const auto resp = host.unwrap(gp::ResponseApdu::parse(card(wire)));
      BOOST_REQUIRE_EQUAL(card.seen.size(), n + 1);
      same_command(card.seen.back(), cmd);
      const auto want = CardLoop::application(cmd);
      BOOST_TEST(resp.sw == want.sw);
      BOOST_TEST(to_hex(resp.data) == to_hex(want.data));
    }
    ++n;
  }
  return n;
}

gp::StaticKeys random_keys(std::size_t len) { return {gp::random_secure(len), gp::random_secure(len), gp::random_secure(len)}; }

std::string hex8(std::uint8_t b) { return to_hex(Bytes{b}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(scp_roundtrip)

BOOST_AUTO_TEST_CASE(scp02_i15_i55_at_every_level) {
  for (std::uint8_t i : {std::uint8_t{0x15}, std::uint8_t{0x55}}) {
    for (std::uint8_t lv : {std::uint8_t{0x01}, std::uint8_t{0x03}, std::uint8_t{0x11}, std::uint8_t{0x13}}) {
      BOOST_TEST_CONTEXT("SCP02 i=" << hex8(i) << " level " << hex8(lv)) {
        const auto keys = random_keys(16);
        gp::Scp02CardOptions copt;
        copt.i = i;
        copt.kvn = 0x20;
        copt.kdd = gp::random_bytes(10);
        copt.sequence_counter = 0x0041;
        copt.aid = kIsdAid;
        gp::Scp02Card session(keys, copt);
        CardLoop card{session, {}, {}};
        gp::Scp02HostOptions hopt;
        hopt.i = i;
        if (i == 0x55) hopt.aid = kIsdAid;  // the host checks the pseudo-random challenge
        gp::Scp02Host host(keys, hopt);
        BOOST_TEST(run_session(host, card, gp::SecurityLevel(lv)) == script().size());
        // GP: the counter advances once the session is open.
        BOOST_REQUIRE(card.persisted_counter.has_value());
        BOOST_TEST(*card.persisted_counter == 0x0042u);
        BOOST_TEST(host.card_response().sequence_counter.value_or(0) == 0x0041u);
        // A second session on the same card runs under the next counter, with other session keys.
        const Bytes first_enc(host.session_keys().enc.begin(), host.session_keys().enc.end());
        BOOST_TEST(run_session(host, card, gp::SecurityLevel(lv)) == script().size());
        BOOST_TEST(*card.persisted_counter == 0x0043u);
        BOOST_TEST(to_hex(first_enc) != to_hex(gp::view(host.session_keys().enc)));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(scp02_without_icv_encryption_and_no_secure_messaging) {
  for (std::uint8_t i : {std::uint8_t{0x05}, std::uint8_t{0x45}}) {
    for (std::uint8_t lv : {std::uint8_t{0x00}, std::uint8_t{0x03}, std::uint8_t{0x13}}) {
      BOOST_TEST_CONTEXT("SCP02 i=" << hex8(i) << " level " << hex8(lv)) {
        const auto keys = random_keys(16);
        gp::Scp02CardOptions copt;
        copt.i = i;
        copt.kdd = gp::random_bytes(10);
        copt.aid = kIsdAid;
        gp::Scp02Card session(keys, copt);
        CardLoop card{session, {}, {}};
        gp::Scp02Host host(keys, {i, kIsdAid});
        BOOST_TEST(run_session(host, card, gp::SecurityLevel(lv)) == script().size());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(scp03_i00_i10_i70_at_every_level_and_key_length) {
  std::size_t opened = 0, refused = 0;
  for (std::size_t len : {16u, 24u, 32u}) {
    for (std::uint8_t i : {std::uint8_t{0x00}, std::uint8_t{0x10}, std::uint8_t{0x70}}) {
      for (std::uint8_t lv : {std::uint8_t{0x01}, std::uint8_t{0x03}, std::uint8_t{0x11}, std::uint8_t{0x13}, std::uint8_t{0x33}}) {
        BOOST_TEST_CONTEXT("SCP03 AES-" << len * 8 << " i=" << hex8(i) << " level " << hex8(lv)) {
          const auto keys = random_keys(len);
          gp::Scp03CardOptions copt;
          copt.i = i;
          copt.kvn = 0x30;
          copt.kdd = gp::random_bytes(10);
          copt.sequence_counter = 0x00002A;
          copt.aid = kIsdAid;
          gp::Scp03Card session(keys, copt);
          CardLoop card{session, {}, {}};
          gp::Scp03HostOptions hopt;
          hopt.aid = kIsdAid;
          gp::Scp03Host host(keys, hopt);
          const gp::SecurityLevel level(lv);
          const bool offered = (!level.r_mac() || (i & gp::scp03_i::kRMacSupport) != 0) &&
                               (!level.r_encryption() || (i & gp::scp03_i::kREncryptionSupport) != 0);
          if (offered) {
            BOOST_TEST(run_session(host, card, level) == script().size());
            ++opened;
          } else {
            // Amd D: R-MAC / R-ENCRYPTION only when i offers them. The host refuses to ask...
            const gp::Transmit transmit = [&card](gp::ByteView raw) { return card(raw); };
            BOOST_CHECK_EXCEPTION(gp::open_secure_channel(host, transmit, 0x00, level), gp::GpError,
                                  [](const gp::GpError& e) { return e.code() == gp::Errc::Unsupported; });
            BOOST_TEST(!host.is_open());
            // ...and the card refuses a correctly authenticated EXTERNAL AUTHENTICATE that asks anyway.
            const Bytes hc = gp::random_bytes(8);
            const auto iu = gp::InitializeUpdateResponse::parse(
                session.initialize_update(gp::InitializeUpdateCommand{0, 0, hc}.to_apdu()).response.data);
            const auto& sk = session.session_keys();
            const Bytes crypto = gp::scp03_host_cryptogram(sk.mac, hc, iu.card_challenge, 8);
            Bytes mac_input(16, 0x00);
            mac_input.insert(mac_input.end(), {0x84, 0x82, lv, 0x00, 0x10});
            mac_input.insert(mac_input.end(), crypto.begin(), crypto.end());
            Bytes mac = gp::aes_cmac(sk.mac, mac_input);
            mac.resize(8);
            const gp::CommandApdu ea(0x84, 0x82, lv, 0x00, gp::concat({crypto, mac}));
            BOOST_CHECK_EXCEPTION(session.external_authenticate(ea), gp::GpError,
                                  [](const gp::GpError& e) { return e.code() == gp::Errc::Unsupported; });
            BOOST_TEST(!session.is_open());
            ++refused;
          }
          // Pseudo-random challenges advance the counter at INITIALIZE UPDATE, random ones have none.
          BOOST_TEST(card.persisted_counter.has_value() == ((i & gp::scp03_i::kPseudoRandomChallenge) != 0));
        }
      }
    }
  }
  BOOST_TEST(opened == 3u * 9u);   // i=00, 10: 01 and 03; i=70: all five
  BOOST_TEST(refused == 3u * 6u);  // i=00, 10: 11, 13, 33
}

BOOST_AUTO_TEST_CASE(scp03_s16_mode) {
  for (std::size_t len : {16u, 32u}) {
    for (std::uint8_t i : {std::uint8_t{0x01}, std::uint8_t{0x11}, std::uint8_t{0x71}}) {
      for (std::uint8_t lv : {std::uint8_t{0x01}, std::uint8_t{0x03}, std::uint8_t{0x33}}) {
        const gp::SecurityLevel level(lv);
        if (level.r_mac() && (i & gp::scp03_i::kRMacSupport) == 0) continue;
        BOOST_TEST_CONTEXT("SCP03 S16 AES-" << len * 8 << " i=" << hex8(i) << " level " << hex8(lv)) {
          const auto keys = random_keys(len);
          gp::Scp03CardOptions copt;
          copt.i = i;
          copt.kdd = gp::random_bytes(10);
          copt.sequence_counter = 5;
          copt.aid = kIsdAid;
          gp::Scp03Card session(keys, copt);
          CardLoop card{session, {}, {}};
          gp::Scp03Host host(keys, {true, kIsdAid});
          BOOST_TEST(run_session(host, card, level) == script().size());
          BOOST_TEST(host.card_response().card_challenge.size() == 16u);
          BOOST_TEST(host.card_response().card_cryptogram.size() == 16u);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(scp03_counter_advances_per_initialize_update) {
  const auto keys = random_keys(16);
  gp::Scp03CardOptions copt;
  copt.i = 0x70;
  copt.kdd = gp::random_bytes(10);
  copt.sequence_counter = 0x0000FF;
  copt.aid = kIsdAid;
  gp::Scp03Card session(keys, copt);
  CardLoop card{session, {}, {}};
  gp::Scp03Host host(keys, {false, kIsdAid});
  run_session(host, card, gp::SecurityLevel(0x33));
  BOOST_TEST(host.card_response().sequence_counter.value_or(0) == 0x0000FFu);
  const Bytes first_challenge = host.card_response().card_challenge;
  run_session(host, card, gp::SecurityLevel(0x33));
  BOOST_TEST(host.card_response().sequence_counter.value_or(0) == 0x000100u);
  BOOST_TEST(*card.persisted_counter == 0x000101u);
  BOOST_TEST(to_hex(first_challenge) != to_hex(host.card_response().card_challenge));
}

BOOST_AUTO_TEST_CASE(factories_pick_the_protocol_at_run_time) {
  for (auto [scp, i, level, len] : {std::tuple{gp::Scp::Scp02, std::uint8_t{0x55}, std::uint8_t{0x13}, std::size_t{16}},
                                    std::tuple{gp::Scp::Scp03, std::uint8_t{0x70}, std::uint8_t{0x33}, std::size_t{32}}}) {
    BOOST_TEST_CONTEXT(gp::scp_name(scp)) {
      const auto keys = random_keys(len);
      gp::CardSessionOptions copt;
      copt.i = i;
      copt.kvn = 0x21;
      copt.kdd = gp::random_bytes(10);
      copt.sequence_counter = 0x99;
      copt.aid = kIsdAid;
      auto session = gp::make_card_session(scp, keys, copt);
      BOOST_TEST(std::string(gp::scp_name(session->scp())) == gp::scp_name(scp));
      CardLoop card{*session, {}, {}};
      gp::HostSessionOptions hopt;
      hopt.scp02_i = i;
      hopt.aid = kIsdAid;
      auto host = gp::make_host_session(scp, keys, hopt);
      BOOST_TEST(std::string(gp::scp_name(host->scp())) == gp::scp_name(scp));
      BOOST_TEST(run_session(*host, card, gp::SecurityLevel(level)) == script().size());
      BOOST_TEST(*card.persisted_counter == 0x9Au);
    }
  }
  gp::HostSessionOptions s16;
  s16.s16 = true;
  BOOST_CHECK_EXCEPTION(gp::make_host_session(gp::Scp::Scp02, random_keys(16), s16), gp::GpError,
                        [](const gp::GpError& e) { return e.code() == gp::Errc::InvalidArgument; });
}

BOOST_AUTO_TEST_SUITE_END()
