// INITIALIZE UPDATE / EXTERNAL AUTHENTICATE against the card engine with gp's host sessions:
// every SCP, i and security level the card offers, several wrapped commands in a row, the
// failure status words and their effect on the session, and the sequence counter.
#include <boost/test/unit_test.hpp>

#include "card/sqlite_card_store.h"
#include "card_fixture.h"
#include "gp/data_objects.h"
#include "gp/error.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

namespace {

struct Case {
  CardSpec spec;
  std::vector<std::uint8_t> levels;      // accepted
  std::vector<std::uint8_t> refused;     // answered 6A86
};

std::vector<Case> cases() {
  using gp::Scp;
  return {
      {{Scp::Scp02, 0x15}, {0x01, 0x03, 0x11, 0x13}, {0x33}},
      {{Scp::Scp02, 0x55}, {0x01, 0x03, 0x11, 0x13}, {0x33}},
      {{Scp::Scp03, 0x00}, {0x01, 0x03}, {0x11, 0x13, 0x33}},
      {{Scp::Scp03, 0x10}, {0x01, 0x03}, {0x11, 0x13, 0x33}},
      {{Scp::Scp03, 0x70}, {0x01, 0x03, 0x11, 0x13, 0x33}, {}},
  };
}

std::string level_hex(std::uint8_t l) { return gp::to_hex(Bytes{l}); }

}  // namespace

BOOST_AUTO_TEST_SUITE(secure_channel)

BOOST_AUTO_TEST_CASE(every_scp_i_and_level_with_commands_in_a_row) {
  for (const Case& c : cases()) {
    for (std::uint8_t level : c.levels) {
      BOOST_TEST_CONTEXT(describe(c.spec) << " level " << level_hex(level)) {
        TestCard t(c.spec);
        auto host = t.open(level);
        BOOST_TEST(t.card().secure_channel_open());
        BOOST_TEST(t.card().security_level().byte() == level);
        // Several wrapped commands: MAC chaining, encryption counter, R-MAC chaining.
        for (int round = 0; round < 3; ++round) {
          auto r = t.send_secure(*host, get_data_apdu(gp::kTagKdd));
          BOOST_TEST(r.sw == 0x9000);
          BOOST_TEST(gp::to_hex(gp::Kdd::parse(r.data).bytes()) == gp::to_hex(t.card().state().identity.kdd));
          r = t.send_secure(*host, get_status_apdu(0x80, 0x02));
          BOOST_TEST(r.sw == 0x9000);
          BOOST_TEST(gp::to_hex(gp::parse_tlv(r.data).require(0x4F).value) == "A000000151000000");
          r = t.send_secure(*host, get_data_apdu(0x9F7E));  // an error status: no data, no R-MAC
          BOOST_TEST(r.sw == 0x6A88);
          r = t.send_secure(*host, gp::CommandApdu(0x80, 0x70, 0x00, 0x00));  // unknown INS, still MACed
          BOOST_TEST(r.sw == 0x6D00);
        }
        BOOST_TEST(t.card().secure_channel_open());
      }
    }
    for (std::uint8_t level : c.refused) {
      BOOST_TEST_CONTEXT(describe(c.spec) << " refuses level " << level_hex(level)) {
        TestCard t(c.spec);
        auto host = gp::make_host_session(c.spec.scp, t.keys(), {c.spec.i, false, card::kIsdAid});
        const auto iu = gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(0).encode()));
        BOOST_REQUIRE(iu.sw == 0x9000);
        Bytes ea;
        try {
          ea = host->external_authenticate(iu, gp::SecurityLevel(level));
        } catch (const gp::GpError&) {
          continue;  // the host side already refuses it; nothing reaches the card
        }
        BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(ea)).sw == 0x6A86);
        BOOST_TEST(!t.card().secure_channel_open());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(level_00_authenticates_without_secure_messaging) {
  TestCard t(CardSpec{gp::Scp::Scp03, 0x70});
  t.open(0x00);
  BOOST_TEST(t.card().secure_channel_open());
  BOOST_TEST(t.send(get_status_apdu(0x80, 0x02)).sw == 0x9000);   // plain commands are accepted,
  BOOST_TEST(t.send(get_status_apdu(0x80, 0x02)).sw == 0x9000);   // the same one twice too (no MAC, no replay)
  BOOST_TEST(t.send(get_status_apdu(0x80, 0x02)).sw == 0x9000);
  gp::CommandApdu sm = get_status_apdu(0x80, 0x02);
  sm.cla = 0x84;  // secure messaging in a session that has none
  BOOST_TEST(t.send(sm).sw == 0x6982);
  BOOST_TEST(!t.card().secure_channel_open());
}

BOOST_AUTO_TEST_CASE(bad_host_cryptogram_is_6300_and_closes) {
  for (const CardSpec spec : {CardSpec{gp::Scp::Scp02, 0x55}, CardSpec{gp::Scp::Scp03, 0x70}, CardSpec{gp::Scp::Scp03, 0x00}}) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      TestCard t(spec);
      auto host = gp::make_host_session(spec.scp, t.keys(), {spec.i, false, card::kIsdAid});
      const auto iu = gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(0).encode()));
      Bytes ea = host->external_authenticate(iu, gp::SecurityLevel(0x01));
      ea[5] ^= 0x01;  // first byte of the host cryptogram
      BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(ea)).sw == 0x6300);
      BOOST_TEST(!t.card().secure_channel_open());
      ea[5] ^= 0x01;  // the right bytes, but the handshake is over: INITIALIZE UPDATE first
      BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(ea)).sw == 0x6985);
      BOOST_TEST(t.send(get_status_apdu(0x80, 0x02)).sw == 0x6982);
      t.open(0x01);  // and a new handshake works
      BOOST_TEST(t.card().secure_channel_open());
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_mac_is_6982_and_closes) {
  for (const CardSpec spec : {CardSpec{gp::Scp::Scp02, 0x15}, CardSpec{gp::Scp::Scp03, 0x70}}) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      // On EXTERNAL AUTHENTICATE itself.
      {
        TestCard t(spec);
        auto host = gp::make_host_session(spec.scp, t.keys(), {spec.i, false, card::kIsdAid});
        const auto iu = gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(0).encode()));
        Bytes ea = host->external_authenticate(iu, gp::SecurityLevel(0x01));
        ea.back() ^= 0x80;  // last byte of the C-MAC
        BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(ea)).sw == 0x6982);
        BOOST_TEST(!t.card().secure_channel_open());
      }
      // On a command inside the session.
      {
        TestCard t(spec);
        auto host = t.open(0x03);
        gp::CommandApdu wrapped = gp::CommandApdu::parse(host->wrap(get_data_apdu(gp::kTagKdd)));
        wrapped.data.back() ^= 0x01;  // last byte of the C-MAC
        BOOST_TEST(t.send(wrapped).sw == 0x6982);
        BOOST_TEST(!t.card().secure_channel_open());
        // The host's next correctly wrapped command finds no session.
        Bytes next = host->wrap(get_data_apdu(gp::kTagKdd));
        BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(next)).sw == 0x6982);
      }
      // A command without its MAC in a C-MAC session, and a replayed command.
      {
        TestCard t(spec);
        auto host = t.open(0x01);
        BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd)).sw == 0x6982);
        BOOST_TEST(!t.card().secure_channel_open());
        host = t.open(0x01);
        const Bytes wrapped = host->wrap(get_data_apdu(gp::kTagKdd));
        BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(wrapped)).sw == 0x9000);
        host->unwrap(gp::ResponseApdu{{}, 0x9000});
        BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(wrapped)).sw == 0x6982);
        BOOST_TEST(!t.card().secure_channel_open());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(key_version_numbers) {
  TestCard t(CardSpec{gp::Scp::Scp03, 0x70, 0x30});
  t.open(0x01, std::nullopt, 0x30);  // by its number
  t.open(0x01, std::nullopt, 0x00);  // 00: the default key set
  auto host = gp::make_host_session(gp::Scp::Scp03, t.keys(), {});
  for (int kvn : {0x31, 0x01, 0x7F, 0xFF}) {
    BOOST_TEST_CONTEXT("KVN " << kvn) {
      BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(static_cast<std::uint8_t>(kvn)).encode())).sw == 0x6A88);
    }
  }
  // INITIALIZE UPDATE must come as CLA 80; a host challenge of the wrong size is a wrong length.
  BOOST_TEST(t.send_hex("8450000008" "0102030405060708").sw == 0x6E00);
  BOOST_TEST(t.send_hex("8050000007" "01020304050607").sw == 0x6700);
  BOOST_TEST(t.send_hex("8050000010" "0102030405060708090A0B0C0D0E0F10").sw == 0x6700);  // S16 on an S8 card
}

BOOST_AUTO_TEST_CASE(commands_that_need_a_session) {
  TestCard t;
  const std::vector<gp::CommandApdu> need = {
      get_status_apdu(0x80, 0x02),
      install_for_load_apdu(gp::from_hex("A000000151535000")),
      gp::CommandApdu(0x80, 0xE8, 0x80, 0x00, Bytes{0xC4, 0x00}),
      delete_apdu(gp::from_hex("A000000151535000")),
      gp::CommandApdu(0x80, 0xE2, 0x80, 0x00, Bytes{0x01}),
      gp::CommandApdu(0x80, 0xD8, 0x00, 0x81, Bytes{0x21}),
  };
  for (const auto& c : need) {
    BOOST_TEST_CONTEXT("INS " << gp::to_hex(Bytes{c.ins})) { BOOST_TEST(t.send(c).sw == 0x6982); }
  }
  // A handshake interrupted by another command is abandoned.
  auto host = gp::make_host_session(gp::Scp::Scp03, t.keys(), {});
  const auto iu = gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(0).encode()));
  const Bytes ea = host->external_authenticate(iu, gp::SecurityLevel(0x01));
  BOOST_TEST(t.send(get_data_apdu(gp::kTagKdd)).sw == 0x9000);
  BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(ea)).sw == 0x6985);
}

BOOST_AUTO_TEST_CASE(counter_advances_and_is_written_before_the_answer) {
  // SCP02: +1 per opened session (at EXTERNAL AUTHENTICATE). SCP03 i=70: +1 per INITIALIZE
  // UPDATE (the pseudo-random challenge must never repeat). SCP03 i=00: no counter use.
  struct Expect {
    CardSpec spec;
    std::uint32_t after_three;
  };
  for (const Expect& e : {Expect{{gp::Scp::Scp02, 0x55}, 3}, Expect{{gp::Scp::Scp03, 0x70}, 3}, Expect{{gp::Scp::Scp03, 0x00}, 0}}) {
    BOOST_TEST_CONTEXT(describe(e.spec)) {
      TestCard t(e.spec);
      const std::size_t writes0 = t.store().writes();
      for (int i = 0; i < 3; ++i) t.open(0x01);
      const auto stored = t.store().load_all().front().key_sets.at(e.spec.kvn).counter;
      BOOST_TEST(stored == e.after_three);
      BOOST_TEST(t.card().state().key_sets.at(e.spec.kvn).counter == e.after_three);
      BOOST_TEST(t.store().writes() - writes0 == e.after_three);  // one write per advance, none otherwise
    }
  }
  // A counter that cannot be written: no session, 6581, counter unchanged.
  TestCard t(CardSpec{gp::Scp::Scp02, 0x55});
  t.store().fail_next_write();
  BOOST_CHECK_THROW(t.open(0x01), gp::GpError);
  BOOST_TEST(!t.card().secure_channel_open());
  BOOST_TEST(t.card().state().key_sets.at(0x20).counter == 0u);
  t.store().fail_next_write();
  auto host = gp::make_host_session(gp::Scp::Scp02, t.keys(), {0x55, false, card::kIsdAid});
  const auto iu = gp::ResponseApdu::parse(t.card().transmit(host->initialize_update(0).encode()));
  BOOST_TEST(gp::ResponseApdu::parse(t.card().transmit(host->external_authenticate(iu, gp::SecurityLevel(1)))).sw == 0x6581);
}

BOOST_AUTO_TEST_CASE(counter_persists_across_a_restart) {
  TempDir dir("sekds-card-test");
  const std::string db = dir.path() + "/grid.db";
  for (const CardSpec spec : {CardSpec{gp::Scp::Scp02, 0x15}, CardSpec{gp::Scp::Scp03, 0x70}}) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      int slot = 0;
      {
        card::SqliteCardStore store(db);
        std::vector<card::CardState> cards{make_state(spec, gp::random_bytes(4))};
        store.add_cards(cards);
        slot = cards.front().slot;
        card::Card c(cards.front(), &store);
        for (int i = 0; i < 2; ++i) {
          auto host = gp::make_host_session(spec.scp, derive_keys(spec, c.state().identity.kdd), {spec.i, false, card::kIsdAid});
          gp::open_secure_channel(*host, [&](gp::ByteView b) { return c.transmit(b); }, 0, gp::SecurityLevel(1));
        }
      }
      card::SqliteCardStore reopened(db);  // a new process would see the same
      const auto cards = reopened.load_all();
      const auto it = std::find_if(cards.begin(), cards.end(), [&](const card::CardState& s) { return s.slot == slot; });
      BOOST_REQUIRE(it != cards.end());
      BOOST_TEST(it->key_sets.at(spec.kvn).counter == 2u);
      card::Card c(*it, &reopened);
      const auto r = gp::ResponseApdu::parse(c.transmit(get_data_apdu(gp::kTagSequenceCounter).encode()));
      BOOST_TEST(gp::SequenceCounter::parse(r.data).value() == 2u);
      auto host = gp::make_host_session(spec.scp, derive_keys(spec, c.state().identity.kdd), {spec.i, false, card::kIsdAid});
      gp::open_secure_channel(*host, [&](gp::ByteView b) { return c.transmit(b); }, 0, gp::SecurityLevel(1));
      BOOST_TEST(c.state().key_sets.at(spec.kvn).counter == 3u);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
