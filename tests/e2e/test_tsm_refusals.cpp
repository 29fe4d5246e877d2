// The TTP's refusals end to end: the TSM prints the TTP's fault code and exits 3.
#include <boost/test/unit_test.hpp>

#include <fstream>

#include "world.h"

using namespace sekds;
using namespace sekds::test;

namespace {

nlohmann::ordered_json error_of(const RunResult& r) {
  try {
    return nlohmann::ordered_json::parse(r.out)["error"];
  } catch (const std::exception&) {
    BOOST_FAIL("not JSON (exit " << r.status << "): " << r.out << r.err);
  }
  return {};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(refusals)

BOOST_AUTO_TEST_CASE(a_wrong_kek_index_is_refused_by_the_ttp) {
  World& w = World::get();
  // A TSM configuration asking for KEK index 2 (recorded locally, unknown to the TTP).
  std::ifstream in(w.config("tsm1"));
  std::string cfg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  cfg.replace(cfg.find("kek_index = 1"), 13, "kek_index = 2");
  cfg.replace(cfg.find("tsm1-kek-state.json"), 19, "tsm1-bad-kek-state.json");
  write_private(w.config("tsm1-bad"), cfg);
  std::ifstream st(w.dir() + "/tsm1-kek-state.json");
  nlohmann::json state = nlohmann::json::parse(st);
  nlohmann::json two = state["keks"][0];
  two["index"] = 2;
  state["keks"].push_back(two);
  write_private(w.dir() + "/tsm1-bad-kek-state.json", state.dump());

  // One card per request: the server may refuse a sequence counter it has seen.
  const RunResult r = w.tsm("tsm1-bad", {"keys", "--card", w.card(w.spare_card("AES128")), "--json"});
  BOOST_TEST(r.status == 3, r.err);
  BOOST_TEST(error_of(r)["name"] == "UnknownKek");
  const RunResult h = w.tsm("tsm1-bad", {"keys", "--card", w.card(w.spare_card("AES128"))});
  BOOST_TEST(h.status == 3);
  BOOST_TEST(h.err.find("TTP refused: UnknownKek") != std::string::npos, h.err);
}

BOOST_AUTO_TEST_CASE(an_unentitled_issuer_then_a_revoked_tsm) {
  World& w = World::get();
  // tsm2 is entitled to the AES-128 issuer only.
  const int ok = w.spare_card("AES128");
  RunResult r = w.tsm("tsm2", {"keys", "--card", w.card(ok), "--json"});
  BOOST_REQUIRE_MESSAGE(r.status == 0, r.err << r.out);
  for (const char* kt : {"AES256", "DES2"}) {
    BOOST_TEST_CONTEXT(kt) {
      r = w.tsm("tsm2", {"keys", "--card", w.card(w.spare_card(kt)), "--json"});
      BOOST_TEST(r.status == 3, r.err);
      BOOST_TEST(error_of(r)["name"] == "NotEntitled");
    }
  }
  // The operator revokes tsm2: its next request is refused, without a server restart.
  const RunResult rev = w.admin({"tsm", "revoke", "--name", "tsm2"});
  BOOST_REQUIRE_MESSAGE(rev.status == 0, rev.out << rev.err);
  r = w.tsm("tsm2", {"keys", "--card", w.card(w.spare_card("AES128"))});
  BOOST_TEST(r.status == 3, r.err);
  BOOST_TEST(r.err.find("TTP refused: NotAccredited") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()
