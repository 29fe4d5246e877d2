// The grid transport against a real `sekds-card serve --grid` child on a free port: the line
// protocol, reservations, errors by code, discovery over TCP, and batch runs over slot ranges.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"
#include "tsm/batch.h"
#include "tsm/card_info.h"
#include "tsm/error.h"
#include "tsm/grid_transport.h"
#include "virtual_card.h"

using namespace sekds;
using namespace sekds::test;
using tsm::TsmErrc;

namespace {

struct GridFixture {
  ScratchDir dir{"sekds-tsm-grid"};
  std::string db = dir / "grid.db";
  std::vector<int> aes_slots, des_slots;
  std::unique_ptr<GridChild> grid;
  GridFixture() {
    write_private(dir / "aes.hex", std::string(kAes128Master) + "\n");
    write_private(dir / "des.hex", std::string(kDesMaster) + "\n");
    aes_slots = personalise_cards(db, 6, "03", "70", "kdf3", dir / "aes.hex", kTtpUrl);
    des_slots = personalise_cards(db, 2, "02", "55", "emv", dir / "des.hex", kTtpUrl);
    grid = std::make_unique<GridChild>(db);
  }
  std::shared_ptr<tsm::GridConnection> connect() const {
    return std::make_shared<tsm::GridConnection>("127.0.0.1", grid->port());
  }
};

std::string error_name(const std::function<void()>& f) {
  try {
    f();
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == TsmErrc::CardTransport), e.what());
    return e.name();
  }
  return "no error";
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(grid, GridFixture)

BOOST_AUTO_TEST_CASE(protocol_and_reservations) {
  auto a = connect();
  auto b = connect();
  const auto slots = a->content();
  BOOST_TEST(slots.size() == 8u);
  BOOST_REQUIRE_EQUAL(aes_slots.size(), 6u);
  BOOST_REQUIRE_EQUAL(des_slots.size(), 2u);
  for (const auto& s : slots) BOOST_TEST(!s.used);
  {
    tsm::GridTransport t(a, aes_slots[0]);
    BOOST_TEST(t.describe() == "grid:127.0.0.1:" + std::to_string(grid->port()) + "/" + std::to_string(aes_slots[0]));
    bool used = false;
    for (const auto& s : b->content())
      if (s.slot == aes_slots[0]) used = s.used;
    BOOST_TEST(used);
    // Another client cannot take it.
    BOOST_TEST(error_name([&] { tsm::GridTransport other(b, aes_slots[0]); }) == "GRID_BUSY");
    const gp::Bytes atr = t.reset();
    BOOST_TEST(!atr.empty());
    const tsm::CardInfo info = tsm::discover_card(t);
    BOOST_REQUIRE(info.url.has_value());
    BOOST_TEST(info.url->str() == kTtpUrl);
    BOOST_TEST((info.scp() == gp::Scp::Scp03));
    BOOST_TEST(info.atr == atr);
  }
  // FREE on destruction: b may take it now.
  tsm::GridTransport t2(b, aes_slots[0]);
  BOOST_TEST(tsm::discover_card(t2).kdd.hex().size() == 20u);
  // Errors by code.
  BOOST_TEST(error_name([&] { tsm::GridTransport t(a, 999); }) == "GRID_SLOT");
  BOOST_TEST(error_name([&] { a->request("APDU " + std::to_string(aes_slots[1]) + " 00A4040000"); }) == "GRID_NOTRESERVED");
  BOOST_TEST(error_name([&] { a->request("HELLO"); }) == "GRID_UNKNOWN");
  // Nothing listens: refused by name.
  const std::uint16_t port = grid->port();
  grid->stop();
  BOOST_TEST(error_name([&] { tsm::GridConnection c("127.0.0.1", port); }) == "GRID_CONNECTION_REFUSED");
  BOOST_TEST(error_name([&] { a->content(); }) != "no error");
}

BOOST_AUTO_TEST_CASE(open_card_from_a_spec) {
  auto t = tsm::open_card(tsm::CardSpec::parse(grid->spec(des_slots[0])));
  const tsm::CardInfo info = tsm::discover_card(*t);
  BOOST_TEST((info.scp() == gp::Scp::Scp02));
  BOOST_TEST(info.scp_option()->i == 0x55);
}

BOOST_AUTO_TEST_CASE(batch_rotates_every_slot_of_a_range_with_several_workers) {
  CardProfile aes = all_profiles()[4];
  auto issuer = issuer_keys(aes);  // stands in for the TTP: the cards' issuer key set
  auto own = own_keys();
  tsm::FlowOptions o;
  o.goal = tsm::FlowGoal::Rotate;
  const tsm::CardSpec range =
      tsm::CardSpec::parse("grid:127.0.0.1:" + std::to_string(grid->port()) + "/" + std::to_string(aes_slots.front()) + "-" +
                           std::to_string(aes_slots.back()));
  auto make_issuer = [&]() -> std::unique_ptr<tsm::KeySource> {
    return std::make_unique<tsm::LocalKeySource>(issuer_keys(aes));
  };
  const tsm::BatchResult b = tsm::run_batch(range, 3, make_issuer, &own, o);
  BOOST_TEST(b.cards == aes_slots.size());
  BOOST_TEST(b.ok == aes_slots.size());
  BOOST_TEST(b.failed == 0u);
  BOOST_TEST(b.jobs == 3u);
  BOOST_TEST(!b.first_failure());
  for (const auto& r : b.results) BOOST_TEST(r.steps.size() == 5u);  // discover keys open rotate reopen
  const auto j = tsm::batch_json(b);
  BOOST_TEST(j["succeeded"] == aes_slots.size());

  // Again: every card is on the TSM's key set now, so own keys open it and nothing is rotated.
  o.goal = tsm::FlowGoal::Open;
  const tsm::BatchResult again = tsm::run_batch(range, 2, make_issuer, &own, o);
  BOOST_TEST(again.ok == aes_slots.size());
  // Forcing the issuer's keys on rotated cards fails for each, by name.
  o.keys = tsm::KeyChoice::Ttp;
  o.kvn = kIssuerKvn;  // forced, so the card itself answers
  const tsm::BatchResult old = tsm::run_batch(range, 2, make_issuer, &own, o);
  BOOST_TEST(old.failed == aes_slots.size());
  BOOST_REQUIRE(old.first_failure());
  BOOST_TEST(old.first_failure()->error_name == "SW_REFERENCED_DATA_NOT_FOUND");
}

BOOST_AUTO_TEST_CASE(a_range_with_missing_slots_reports_each_failure) {
  auto own = own_keys();
  tsm::FlowOptions o;
  o.goal = tsm::FlowGoal::Keys;
  o.keys = tsm::KeyChoice::Own;
  const int last = des_slots.back();
  const tsm::CardSpec range = tsm::CardSpec::parse("grid:127.0.0.1:" + std::to_string(grid->port()) + "/" +
                                                   std::to_string(last) + "-" + std::to_string(last + 2));
  const tsm::BatchResult b = tsm::run_batch(range, 2, nullptr, &own, o);
  BOOST_TEST(b.ok == 1u);
  BOOST_TEST(b.failed == 2u);
  for (const auto& r : b.results)
    if (r.slot != last) BOOST_TEST(r.error_name == "GRID_SLOT");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(grid_silent)

// A peer that accepts and never answers: the request ends with GRID_TIMEOUT, it does not hang.
BOOST_AUTO_TEST_CASE(a_silent_grid_times_out) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  BOOST_REQUIRE(::listen(fd, 4) == 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  tsm::GridConnection c("127.0.0.1", ntohs(a.sin_port), 1);
  BOOST_TEST(error_name([&] { c.content(); }) == "GRID_TIMEOUT");
  ::close(fd);
}

BOOST_AUTO_TEST_SUITE_END()
