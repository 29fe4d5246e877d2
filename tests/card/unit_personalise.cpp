// Personalisation: N cards with unique KDDs, CPLCs and CINs; each card's keys are
// gp::diversify(master, KDD) for the method, checked by opening a secure channel with keys
// derived here from the KDD the card reports (GET DATA 'CF').
#include <boost/test/unit_test.hpp>

#include <set>
#include <stdexcept>

#include "card_fixture.h"
#include "gp/data_objects.h"
#include "gp/diversification.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(personalisation)

BOOST_AUTO_TEST_CASE(unique_cards_with_diversified_keys_for_every_method) {
  struct M {
    CardSpec spec;
    Bytes master;
  };
  const Bytes aes256 = gp::from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  for (const M& m : {M{{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::Visa2}, kMasterDes},
                     M{{gp::Scp::Scp02, 0x15, 0x20, gp::DiversificationMethod::Emv}, kMasterDes},
                     M{{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::None}, kMasterDes},
                     M{{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::Kdf3}, kMasterAes},
                     M{{gp::Scp::Scp03, 0x00, 0x30, gp::DiversificationMethod::Kdf3}, aes256},
                     M{{gp::Scp::Scp03, 0x10, 0x30, gp::DiversificationMethod::None}, kMasterAes}}) {
    BOOST_TEST_CONTEXT(describe(m.spec) << " master " << m.master.size() * 8 << " bits") {
      card::MemoryCardStore store;
      card::PersonalisationProfile p;
      p.iin = gp::from_hex("1234");
      p.kvn = m.spec.kvn;
      p.scp = m.spec.scp;
      p.i = m.spec.i;
      p.method = m.spec.method;
      p.url = "https://ttp.example/sekds/v1";
      const auto cards = card::personalise(store, p, m.master, 12);
      BOOST_REQUIRE(cards.size() == 12u);
      std::set<Bytes> kdds, cins, cplcs;
      std::set<gp::SecureBytes> encs;
      for (const auto& c : cards) {
        kdds.insert(c.identity.kdd);
        cins.insert(c.identity.cin);
        cplcs.insert(c.identity.cplc);
        card::Card engine(c, &store);
        const auto r = gp::ResponseApdu::parse(engine.transmit(get_data_apdu(gp::kTagKdd).encode()));
        const Bytes kdd = gp::to_bytes(gp::Kdd::parse(r.data).bytes());
        // Keys derived here, from the master and the KDD the card reports.
        gp::StaticKeys keys = gp::diversify(gp::DiversificationScheme::of(m.spec.method), m.master, kdd);
        encs.insert(keys.enc);
        auto host = gp::make_host_session(m.spec.scp, std::move(keys), {m.spec.i, false, card::kIsdAid});
        BOOST_CHECK_NO_THROW(gp::open_secure_channel(*host, [&](gp::ByteView b) { return engine.transmit(b); }, 0,
                                                     gp::SecurityLevel(0x01)));
        BOOST_TEST(engine.secure_channel_open());
      }
      BOOST_TEST(kdds.size() == 12u);
      BOOST_TEST(cins.size() == 12u);
      BOOST_TEST(cplcs.size() == 12u);
      // With a diversification method every card has its own keys.
      BOOST_TEST(encs.size() == (m.spec.method == gp::DiversificationMethod::None ? 1u : 12u));
      // Slots are consecutive and appended.
      const auto more = card::personalise(store, p, m.master, 2);
      BOOST_TEST(more[0].slot == cards.back().slot + 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(profiles_that_do_not_fit) {
  auto base = [] {
    card::PersonalisationProfile p;
    p.iin = gp::from_hex("1234");
    p.kvn = 0x20;
    p.scp = gp::Scp::Scp02;
    p.method = gp::DiversificationMethod::Visa2;
    p.url = "https://ttp.example/sekds/v1";
    return p;
  };
  BOOST_CHECK_NO_THROW(card::resolve_profile(base(), kMasterDes));
  auto p = base();
  p.method = gp::DiversificationMethod::Kdf3;  // AES keys on SCP02
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterAes), std::invalid_argument);
  p = base();
  BOOST_CHECK_THROW(card::resolve_profile(p, gp::from_hex("00112233445566778899AABBCCDDEEFF0011223344556677")),
                    std::invalid_argument);  // VISA2 wants 16 bytes
  p = base();
  p.kvn = 0x80;
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterDes), std::invalid_argument);
  p = base();
  p.url = "ftp://ttp.example";
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterDes), std::invalid_argument);
  p = base();
  p.i = 0x02;  // C-MAC on unmodified APDU: not spoken
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterDes), std::invalid_argument);
  p = base();
  p.iin.clear();
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterDes), std::invalid_argument);
  p = base();
  p.key_type = gp::KeyType::Aes128;
  BOOST_CHECK_THROW(card::resolve_profile(p, kMasterDes), std::invalid_argument);
  p = base();
  p.scp = gp::Scp::Scp03;
  p.method = gp::DiversificationMethod::Kdf3;
  p.i.reset();
  BOOST_TEST(*card::resolve_profile(p, kMasterAes).i == 0x70);  // the default i
}

BOOST_AUTO_TEST_CASE(master_key_file) {
  TempDir dir("sekds-card-test");
  write_file(dir.path() + "/ok", "404142434445464748494a4b4c4d4e4f\n", 0600);
  BOOST_TEST(gp::to_hex(gp::view(card::read_master_key_file(dir.path() + "/ok"))) == "404142434445464748494A4B4C4D4E4F");
  write_file(dir.path() + "/bad", "4041424344454647484Z4A4B4C4D4E4F\n", 0600);
  try {
    card::read_master_key_file(dir.path() + "/bad");
    BOOST_FAIL("a file that is not hex was accepted");
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    BOOST_TEST(msg.find("4041") == std::string::npos);  // never echoes the key
    BOOST_TEST(msg.find("484Z") == std::string::npos);  // not even the bad digit's neighbourhood
  }
  write_file(dir.path() + "/two", "4041\n4243\n", 0600);
  BOOST_CHECK_THROW(card::read_master_key_file(dir.path() + "/two"), std::invalid_argument);
  BOOST_CHECK_THROW(card::read_master_key_file(dir.path() + "/missing"), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
