// The PC/SC transport for real: a private pcscd with vsmartcard's vpcd driver, the card served
// to it by `sekds-card serve --vpcd`, the flow through PcscTransport (steps 1-8 with the
// issuer's keys held locally, so no TTP is needed here; tests/e2e adds the real TTP). If pcscd
// cannot start, PrivatePcscd throws and the test FAILS loudly. Own ctest entry: RESOURCE_LOCK pcscd.
#include <boost/test/unit_test.hpp>

#include <thread>

#include "support.h"
#include "support/pcscd.h"
#include "tsm/error.h"
#include "tsm/flow.h"
#include "tsm/pcsc_transport.h"
#include "virtual_card.h"

using namespace sekds;
using namespace sekds::test;
using tsm::TsmErrc;

BOOST_AUTO_TEST_SUITE(pcsc)

BOOST_AUTO_TEST_CASE(the_flow_through_pcscd_and_vpcd) {
  PrivatePcscd pcscd;
  ScratchDir dir("sekds-tsm-pcsc");
  write_private(dir / "aes.hex", std::string(kAes128Master) + "\n");
  const auto slots = personalise_cards(dir / "card.db", 1, "03", "70", "kdf3", dir / "aes.hex", kTtpUrl);
  ChildProcess card({SEKDS_CARD_BIN, "serve", "--db", dir / "card.db", "--vpcd",
                     "127.0.0.1:" + std::to_string(pcscd.vpcd_port()), "--slot", std::to_string(slots.front())});
  card.wait_for_line("as the card of vpcd");
  const std::string reader = pcscd.reader_name(0);

  // pcscd sees the card once vpcd's connection is up: wait for it (a hang detector, not timing).
  std::unique_ptr<tsm::PcscTransport> t;
  std::string last;
  for (int n = 0; n < 100 && !t; ++n) {
    try {
      t = std::make_unique<tsm::PcscTransport>(reader);
    } catch (const tsm::TsmError& e) {
      last = e.what();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  BOOST_REQUIRE_MESSAGE(t, "the card never showed in '" << reader << "': " << last << "\npcscd log:\n" << pcscd.log());
  BOOST_TEST(t->describe() == "pcsc:" + reader);
  const auto readers = tsm::PcscTransport::list_readers();
  BOOST_TEST((std::find(readers.begin(), readers.end(), reader) != readers.end()));

  const CardProfile p = all_profiles()[4];  // what was personalised: SCP03 i=70 KDF3 AES-128
  auto issuer = issuer_keys(p);
  auto own = own_keys();
  const tsm::Script s = tsm::Script::parse("get-status\nstore-data 0102030405\n80CA00CF00\n", "/", "pcsc-script");
  tsm::FlowOptions o;
  o.goal = tsm::FlowGoal::Run;
  o.level = gp::SecurityLevel(0x33);
  o.script = &s;
  const tsm::FlowResult r = tsm::run_flow(*t, {&issuer, &own}, o);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.error ? r.error->what() : "") << "\npcscd log:\n" << pcscd.log());
  BOOST_TEST(r.card->url->str() == kTtpUrl);
  BOOST_TEST(!r.card->atr.empty());
  BOOST_TEST(r.session->level.byte() == 0x33);
  BOOST_TEST(r.reopened->kvn == kOwnKvn);
  BOOST_TEST(r.script.size() == 3u);
  t.reset();

  // The reader by a unique part of its name; a part two readers share is refused by name.
  BOOST_TEST(tsm::PcscTransport(reader.substr(0, reader.size() - 1) + "0").describe() == "pcsc:" + reader);
  try {
    tsm::PcscTransport ambiguous(PrivatePcscd::kFriendlyName);
    BOOST_FAIL("an ambiguous reader name was accepted");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST(e.name() == "PCSC_AMBIGUOUS_READER", e.what());
  }
  try {
    tsm::PcscTransport none("no such reader");
    BOOST_FAIL("a missing reader was accepted");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == TsmErrc::CardTransport));
    BOOST_TEST(e.name() == "PCSC_NO_READER");
    BOOST_TEST(std::string(e.what()).find(reader) != std::string::npos);  // lists the readers there are
  }
  BOOST_TEST(card.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
