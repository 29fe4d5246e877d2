// The card's minimum security level for PUT KEY, LOAD, INSTALL and DELETE (issue 19 item 11):
// a level-00 session is authenticated once, then its commands travel without a MAC, so anyone
// on the line could inject them. Refused with 6982 below the card's level (default 01, C-MAC),
// accepted at or above it, configurable per card at personalisation.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <stdexcept>

#include "card/load_file.h"
#include "card_fixture.h"
#include "gp/data_objects.h"
#include "gp/put_key.h"

using namespace sekds;
using namespace sekds::test;

namespace {

const Bytes kPackage = gp::from_hex("A0000001515350");
const Bytes kApplet = gp::from_hex("A000000151535041");
const Bytes kApp = gp::from_hex("A00000015153504101");

Bytes load_file() {
  card::LoadFileSpec s;
  s.package_aid = kPackage;
  s.applet_aids = {kApplet};
  s.size = 600;
  return card::make_load_file(s);
}

gp::KeyType key_type_of(const CardSpec& s) { return s.scp == gp::Scp::Scp02 ? gp::KeyType::Des2 : gp::KeyType::Aes128; }

gp::CommandApdu put_key_apdu(const CardSpec& s, gp::HostSession& host, std::uint8_t kvn) {
  const std::size_t n = gp::key_length(key_type_of(s));
  const gp::StaticKeys keys{gp::random_secure(n), gp::random_secure(n), gp::random_secure(n)};
  return gp::PutKey::key_set(kvn, key_type_of(s), keys).command(host.key_encryptor());
}

// INSTALL [for load], the LOAD blocks, INSTALL [for install and make selectable]: the SWs.
std::vector<std::uint16_t> install_applet(TestCard& t, gp::HostSession& host) {
  std::vector<std::uint16_t> sws{t.send_secure(host, install_for_load_apdu(kPackage)).sw};
  for (const auto& c : load_apdus(load_file())) sws.push_back(t.send_secure(host, c).sw);
  sws.push_back(t.send_secure(host, install_for_install_apdu(kPackage, kApplet, kApp)).sw);
  return sws;
}

bool all_9000(const std::vector<std::uint16_t>& sws) {
  return std::all_of(sws.begin(), sws.end(), [](std::uint16_t sw) { return sw == 0x9000; });
}

const std::vector<CardSpec> kSpecs{CardSpec{gp::Scp::Scp02, 0x55}, CardSpec{gp::Scp::Scp03, 0x70},
                                   CardSpec{gp::Scp::Scp03, 0x00}};

}  // namespace

BOOST_AUTO_TEST_SUITE(management_level)

BOOST_AUTO_TEST_CASE(personalisation_defaults_to_cmac) {
  BOOST_TEST(card::CardIdentity{}.management_level.byte() == 0x01);
  BOOST_TEST(card::PersonalisationProfile{}.management_level == 0x01);
}

BOOST_AUTO_TEST_CASE(level_00_cannot_put_key_install_load_or_delete) {
  for (const CardSpec spec : kSpecs) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      TestCard t(spec);
      // Content to delete and a package to install from, put there at level 01.
      {
        auto host = t.open(0x01);
        BOOST_REQUIRE(all_9000(install_applet(t, *host)));
      }
      const card::CardState before = t.card().state();
      const std::size_t writes = t.store().writes();

      auto host = t.open(0x00);
      const std::size_t after_open = t.store().writes();  // the handshake may advance a counter
      BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x6982);
      BOOST_TEST(t.send_secure(*host, delete_apdu(kApp)).sw == 0x6982);
      BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage, 0x80)).sw == 0x6982);
      BOOST_TEST(t.send_secure(*host, install_for_install_apdu(kPackage, kApplet, gp::from_hex("A00000015153504102"))).sw ==
                 0x6982);
      BOOST_TEST(t.send_secure(*host, install_for_make_selectable_apdu(kApp)).sw == 0x6982);
      BOOST_TEST(t.send_secure(*host, install_for_load_apdu(gp::from_hex("A0000001515351"))).sw == 0x6982);
      BOOST_TEST(t.send_secure(*host, load_apdus(load_file()).front()).sw == 0x6982);

      // Nothing changed, nothing was written; the session itself is sound and stays open for
      // what level 00 may do.
      BOOST_TEST(t.store().writes() == after_open);
      BOOST_TEST(after_open - writes <= 1u);
      BOOST_TEST(t.card().state().key_sets.size() == before.key_sets.size());
      BOOST_TEST(t.card().state().key_sets.count(0x40) == 0u);
      BOOST_TEST((t.card().state().registry == before.registry));
      BOOST_TEST(t.card().secure_channel_open());
      BOOST_TEST(t.send_secure(*host, get_status_apdu(0x40, 0x02)).sw == 0x9000);
      BOOST_TEST(t.send_secure(*host, get_data_apdu(gp::kTagKdd)).sw == 0x9000);
    }
  }
}

BOOST_AUTO_TEST_CASE(level_01_can_put_key_install_load_and_delete) {
  for (const CardSpec spec : kSpecs) {
    BOOST_TEST_CONTEXT(describe(spec)) {
      TestCard t(spec);
      auto host = t.open(0x01);
      BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x9000);
      BOOST_TEST(all_9000(install_applet(t, *host)));
      BOOST_TEST(t.send_secure(*host, delete_apdu(kPackage, 0x80)).sw == 0x9000);
      BOOST_TEST(t.card().state().key_sets.count(0x40) == 1u);
      BOOST_TEST(t.card().state().registry.load_files.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(the_level_is_per_card) {
  // 00: the card's issuer chose to allow it (the old behaviour, now explicit).
  {
    TestCard t(CardSpec{gp::Scp::Scp03, 0x70, 0x20, gp::DiversificationMethod::None, 0x00});
    auto host = t.open(0x00);
    BOOST_TEST(t.send_secure(*host, put_key_apdu(t.spec(), *host, 0x40)).sw == 0x9000);
    BOOST_TEST(all_9000(install_applet(t, *host)));
  }
  // 03: C-MAC alone is not enough.
  {
    const CardSpec spec{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::None, 0x03};
    TestCard t(spec);
    auto host = t.open(0x01);
    BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x6982);
    BOOST_TEST(t.send_secure(*host, install_for_load_apdu(kPackage)).sw == 0x6982);
    host = t.open(0x03);
    BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x9000);
    BOOST_TEST(all_9000(install_applet(t, *host)));
  }
  // 13: every bit of it. 11 lacks C-DECRYPTION, 03 lacks R-MAC; 33 has both.
  {
    const CardSpec spec{gp::Scp::Scp03, 0x70, 0x20, gp::DiversificationMethod::None, 0x13};
    TestCard t(spec);
    for (const std::uint8_t low : {std::uint8_t{0x01}, std::uint8_t{0x03}, std::uint8_t{0x11}}) {
      BOOST_TEST_CONTEXT("level " << int(low)) {
        auto host = t.open(low);
        BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x6982);
        BOOST_TEST(t.send_secure(*host, install_for_load_apdu(kPackage)).sw == 0x6982);
      }
    }
    auto host = t.open(0x33);
    BOOST_TEST(t.send_secure(*host, put_key_apdu(spec, *host, 0x40)).sw == 0x9000);
    BOOST_TEST(all_9000(install_applet(t, *host)));
    BOOST_TEST(t.send_secure(*host, delete_apdu(kApp)).sw == 0x9000);
  }
}

BOOST_AUTO_TEST_CASE(personalisation_refuses_a_level_no_session_of_the_card_can_reach) {
  auto refused = [](CardSpec spec, const std::string& says) {
    try {
      profile_for(spec);
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(says) != std::string::npos, e.what());
      return;
    }
    BOOST_ERROR("no error for management level " << int(spec.management_level));
  };
  refused(CardSpec{gp::Scp::Scp03, 0x70, 0x20, gp::DiversificationMethod::None, 0x07}, "--management-level: 07 is not a security level");
  refused(CardSpec{gp::Scp::Scp03, 0x70, 0x20, gp::DiversificationMethod::None, 0x02}, "--management-level: 02");
  refused(CardSpec{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::None, 0x33}, "needs R-ENCRYPTION");
  refused(CardSpec{gp::Scp::Scp03, 0x00, 0x20, gp::DiversificationMethod::None, 0x11}, "--management-level: security level 11 needs R-MAC");
  refused(CardSpec{gp::Scp::Scp03, 0x10, 0x20, gp::DiversificationMethod::None, 0x13}, "needs R-MAC");
  BOOST_TEST(profile_for(CardSpec{gp::Scp::Scp03, 0x70, 0x20, gp::DiversificationMethod::None, 0x33}).management_level == 0x33);
  BOOST_TEST(profile_for(CardSpec{gp::Scp::Scp02, 0x15, 0x20, gp::DiversificationMethod::None, 0x13}).management_level == 0x13);
}

BOOST_AUTO_TEST_SUITE_END()
