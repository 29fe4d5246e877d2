// The same flow through PC/SC: a private pcscd with vsmartcard's vpcd driver, the card served
// to it by `sekds-card serve --vpcd`, and sekds-tsm talking to pcsc:READER. If pcscd cannot
// start, PrivatePcscd throws and this test FAILS loudly (never a silent pass).
#include <boost/test/unit_test.hpp>

#include <thread>

#include "support/pcscd.h"
#include "world.h"

using namespace sekds;
using namespace sekds::test;

BOOST_AUTO_TEST_SUITE(pcsc)

BOOST_AUTO_TEST_CASE(steps_1_to_8_through_pcscd_and_vpcd) {
  World& w = World::get();
  PrivatePcscd pcscd;
  const auto& ks = w.key_set("AES128");
  const std::string db = w.dir() + "/pcsc.db";
  const std::string master = w.dir() + "/master-pcsc.hex";
  write_private(master, ks["master_key_hex"].get<std::string>() + "\n");
  const auto slots = personalise_cards(db, 1, "03", "70", ks["method"], master, w.manifest()["endpoint"],
                                       std::to_string(ks["kvn"].get<int>()), ks["iin"]);
  ChildProcess card({SEKDS_CARD_BIN, "serve", "--db", db, "--vpcd", "127.0.0.1:" + std::to_string(pcscd.vpcd_port()), "--slot",
                     std::to_string(slots.front())});
  card.wait_for_line("as the card of vpcd");
  const std::string reader = "pcsc:" + pcscd.reader_name();
  // pcscd notices the card when vpcd's connection comes up: wait for it (a hang detector).
  RunResult info;
  for (int n = 0; n < 100; ++n) {
    info = w.tsm("tsm1", {"info", "--card", reader, "--json"});
    if (info.status == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_REQUIRE_MESSAGE(info.status == 0, "the card never showed in " << reader << ": " << info.err << "\npcscd log:\n"
                                                                        << pcscd.log());
  const RunResult r = w.tsm("tsm1", {"run", w.script(), "--card", reader, "--level", "cmac+cdec+rmac+renc", "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, "exit " << r.status << ": " << r.err << r.out);
  const auto j = nlohmann::ordered_json::parse(r.out);
  BOOST_TEST(j["card"]["card"] == reader);
  BOOST_TEST(j["keys"]["source"] == "ttp");
  BOOST_TEST(j["reopened"]["kvn"] == 0x40);
  BOOST_TEST(j["session"]["level_byte"] == "33");
  BOOST_TEST(j["script"].size() == 5u);
  BOOST_TEST(card.stop() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
