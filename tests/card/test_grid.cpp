// The grid over real TCP on 127.0.0.1 (a free port): the line protocol, secure channels
// through it, two clients at once, reservations and their release on disconnect, bad lines,
// and `sekds-card serve --grid` as a program (SIGTERM ends it cleanly).
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "card/grid_server.h"
#include "card/sqlite_card_store.h"
#include "card_fixture.h"
#include "child_process.h"
#include "gp/data_objects.h"
#include "line_client.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

namespace {

const CardSpec kScp03{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::Kdf3};
const CardSpec kScp02{gp::Scp::Scp02, 0x55, 0x20, gp::DiversificationMethod::Visa2};

// A grid database with cards 1-2 (SCP03, KDF3) and 3 (SCP02, VISA2), served in-process.
struct GridFixture {
  TempDir dir{"sekds-card-grid"};
  std::string db = dir.path() + "/grid.db";
  std::unique_ptr<card::SqliteCardStore> store;
  std::unique_ptr<card::Grid> grid;
  std::unique_ptr<card::GridServer> server;
  std::thread runner;

  explicit GridFixture(card::GridIo io, std::size_t max_clients = 64) {
    store = std::make_unique<card::SqliteCardStore>(db);
    card::personalise(*store, profile_for(kScp03), master_for(kScp03), 2);
    card::personalise(*store, profile_for(kScp02), master_for(kScp02), 1);
    grid = std::make_unique<card::Grid>(store->load_all(), store.get());
    card::GridServerOptions o;
    o.max_clients = max_clients;
    o.io = io;
    server = std::make_unique<card::GridServer>(*grid, o);
    runner = std::thread([this] { server->run(); });
  }
  ~GridFixture() {
    server->stop();
    runner.join();
  }
  std::uint16_t port() const { return server->port(); }
  LineClient client() const { return LineClient("127.0.0.1", port()); }
  const CardSpec& spec(int slot) const { return slot == 3 ? kScp02 : kScp03; }
  // Resets `slot` and opens a channel to it through `c` (which must hold the slot).
  std::unique_ptr<gp::HostSession> open(LineClient& c, int slot, std::uint8_t level) const {
    c.request("RESET " + std::to_string(slot));
    const gp::Transmit tx = [&c, slot](gp::ByteView b) { return c.apdu(slot, b); };
    const auto kdd = gp::Kdd::parse(gp::ResponseApdu::parse(tx(get_data_apdu(gp::kTagKdd).encode())).data);
    auto host = gp::make_host_session(spec(slot).scp, derive_keys(spec(slot), kdd.bytes()), {spec(slot).i, false, card::kIsdAid});
    gp::open_secure_channel(*host, tx, 0, gp::SecurityLevel(level));
    return host;
  }
};

const card::GridIo kIoModels[] = {card::GridIo::EventLoop, card::GridIo::Threads};

// Polls until `f` is true or 10 s pass (waiting for another thread, not measuring it).
template <class F>
bool eventually(F f) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(grid)

BOOST_AUTO_TEST_CASE(content_use_reset_apdu_free) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      LineClient c = g.client();
      BOOST_TEST(c.request("CONTENT") == "OK 3 1:free 2:free 3:free");
      BOOST_TEST(c.request("USE 2") == "OK");
      BOOST_TEST(c.request("USE 2") == "OK");  // again, by its holder
      BOOST_TEST(c.request("CONTENT") == "OK 3 1:free 2:used 3:free");
      BOOST_TEST(c.request("RESET 2") == "OK " + gp::to_hex(card::Card::atr()));
      const std::string sel = c.request("APDU 2 " + gp::to_hex(select_apdu(card::kIsdAid).encode()));
      BOOST_TEST(sel.rfind("OK 6F", 0) == 0u);
      BOOST_TEST(sel.substr(sel.size() - 4) == "9000");
      BOOST_TEST(c.request("APDU 2 80CA00CF00").rfind("OK CF0A", 0) == 0u);
      BOOST_TEST(c.request("APDU 2 80CA00") == "OK 6700");  // the card judges APDUs, the grid only hex
      BOOST_TEST(c.request("FREE 2") == "OK");
      BOOST_TEST(c.request("FREE 2").rfind("ERR NOTRESERVED", 0) == 0u);
      BOOST_TEST(c.request("APDU 2 80CA00CF00").rfind("ERR NOTRESERVED", 0) == 0u);
      BOOST_TEST(c.request("RESET 2").rfind("ERR NOTRESERVED", 0) == 0u);
      BOOST_TEST(c.request("CONTENT") == "OK 3 1:free 2:free 3:free");
    }
  }
}

BOOST_AUTO_TEST_CASE(secure_channels_through_the_grid_persist_their_counters) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      LineClient c = g.client();
      for (int slot : {1, 3}) {
        BOOST_TEST_CONTEXT("slot " << slot) {
          BOOST_TEST(c.request("USE " + std::to_string(slot)) == "OK");
          c.request("RESET " + std::to_string(slot));
          for (int round = 0; round < 3; ++round) {
            auto host = g.open(c, slot, 0x03);
            const gp::Transmit tx = [&c, slot](gp::ByteView b) { return c.apdu(slot, b); };
            BOOST_TEST(gp::transmit_secure(*host, tx, get_status_apdu(0x80, 0x02)).sw == 0x9000);
            BOOST_TEST(gp::transmit_secure(*host, tx, get_data_apdu(gp::kTagCplc)).sw == 0x9000);
          }
          BOOST_TEST(c.request("FREE " + std::to_string(slot)) == "OK");
        }
      }
      // Another connection to the same file sees the counters (WAL: readers beside the writer).
      card::SqliteCardStore reader(g.db);
      const auto cards = reader.load_all();
      BOOST_TEST(cards.at(0).key_sets.at(kScp03.kvn).counter == 3u);
      BOOST_TEST(cards.at(2).key_sets.at(kScp02.kvn).counter == 3u);
    }
  }
}

BOOST_AUTO_TEST_CASE(two_clients_at_once_on_different_slots) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      std::atomic<int> ok{0};
      auto work = [&](int slot) {
        LineClient c = g.client();
        if (c.request("USE " + std::to_string(slot)) != "OK") return;
        const gp::Transmit tx = [&c, slot](gp::ByteView b) { return c.apdu(slot, b); };
        int good = 0;
        for (int round = 0; round < 40; ++round) {
          auto host = g.open(c, slot, slot == 3 ? std::uint8_t{0x13} : std::uint8_t{0x33});
          if (gp::transmit_secure(*host, tx, get_status_apdu(0x80, 0x02)).sw == 0x9000) ++good;
        }
        if (good == 40) ++ok;
      };
      std::thread a(work, 1), b(work, 3);
      a.join();
      b.join();
      BOOST_TEST(ok.load() == 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(use_conflict_and_release_on_disconnect) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      LineClient b = g.client();
      {
        LineClient a = g.client();
        BOOST_TEST(a.request("USE 1") == "OK");
        g.open(a, 1, 0x01);  // leaves a session open on the card
        BOOST_TEST(b.request("USE 1").rfind("ERR BUSY", 0) == 0u);
        BOOST_TEST(b.request("APDU 1 80CA00CF00").rfind("ERR NOTRESERVED", 0) == 0u);
        BOOST_TEST(b.request("FREE 1").rfind("ERR NOTRESERVED", 0) == 0u);
        BOOST_TEST(b.request("USE 2") == "OK");  // other slots are free
        BOOST_TEST(a.request("USE 2").rfind("ERR BUSY", 0) == 0u);
      }  // a disconnects without FREE
      BOOST_TEST(eventually([&] { return b.request("USE 1") == "OK"; }));
      // The card was powered off when it was released: no session survives its holder.
      BOOST_TEST(b.request("APDU 1 " + gp::to_hex(get_status_apdu(0x80, 0x02).encode())) == "OK 6982");
      BOOST_TEST(b.request("CONTENT") == "OK 3 1:used 2:used 3:free");
    }
  }
}

BOOST_AUTO_TEST_CASE(bad_lines_get_err) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      LineClient c = g.client();
      c.request("USE 1");
      const std::vector<std::pair<std::string, std::string>> table = {
          {"", "ERR SYNTAX"},
          {"   ", "ERR SYNTAX"},
          {"FOO", "ERR UNKNOWN"},
          {"content", "ERR UNKNOWN"},
          {"CONTENT 1", "ERR SYNTAX"},
          {"USE", "ERR SYNTAX"},
          {"USE 1 2", "ERR SYNTAX"},
          {"USE x", "ERR SLOT"},
          {"USE -1", "ERR SLOT"},
          {"USE 99", "ERR SLOT"},
          {"USE 99999999999999", "ERR SLOT"},
          {"RESET 4", "ERR SLOT"},
          {"APDU 1", "ERR SYNTAX"},
          {"APDU 1 ZZ", "ERR HEX"},
          {"APDU 1 80CA00C", "ERR HEX"},
          {"APDU 1 80CA00CF00 00", "ERR SYNTAX"},
          {"\x01\x02\x7F", "ERR UNKNOWN"},
      };
      for (const auto& [line, want] : table) {
        BOOST_TEST_CONTEXT("line '" << line << "'") { BOOST_TEST(c.request(line).rfind(want + " ", 0) == 0u); }
      }
      BOOST_TEST(c.request("CONTENT\r") == "OK 3 1:used 2:free 3:free");  // CRLF is tolerated
      // Pipelined requests are answered in order.
      c.send_raw("APDU 1 80CA00CF00\nCONTENT\nFREE 1\n");
      BOOST_TEST(c.read_line().rfind("OK CF0A", 0) == 0u);
      BOOST_TEST(c.read_line() == "OK 3 1:used 2:free 3:free");
      BOOST_TEST(c.read_line() == "OK");
      // A line longer than the limit ends the connection after ERR TOOLONG.
      c.send_raw(std::string(card::kMaxGridLine + 100, 'A'));
      BOOST_TEST(c.read_line().rfind("ERR TOOLONG", 0) == 0u);
      BOOST_TEST(c.read_line().empty());  // closed
      LineClient d = g.client();
      BOOST_TEST(d.request("CONTENT") == "OK 3 1:free 2:free 3:free");
      // The longest legal line (an extended APDU with 65535 data bytes) is answered.
      d.request("USE 2");
      const gp::CommandApdu big(0x80, 0xE2, 0x80, 0x00, Bytes(65535, 0x11));
      BOOST_TEST(d.request("APDU 2 " + gp::to_hex(big.encode())) == "OK 6982");
    }
  }
}

BOOST_AUTO_TEST_CASE(many_pipelined_lines_and_half_close) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io);
      LineClient c = g.client();
      // 3000 requests in one go (about 0.5 MB of answers) before reading any answer: the
      // server must neither lose nor reorder them while the client is not reading.
      std::string batch = "USE 1\n";
      for (int i = 0; i < 3000; ++i) batch += "APDU 1 80CA9F7F00\n";
      batch += "FREE 1\n";
      std::thread writer([&] { c.send_raw(batch); });
      BOOST_TEST(c.read_line() == "OK");
      int good = 0;
      for (int i = 0; i < 3000; ++i)
        if (c.read_line().rfind("OK 9F7F2A", 0) == 0) ++good;
      writer.join();
      BOOST_TEST(good == 3000);
      BOOST_TEST(c.read_line() == "OK");
      // A client that stops sending still gets its answers, then the server closes.
      c.send_raw("CONTENT\nUSE 3\n");
      c.shutdown_write();
      BOOST_TEST(c.read_line() == "OK 3 1:free 2:free 3:free");
      BOOST_TEST(c.read_line() == "OK");
      BOOST_TEST(c.read_line().empty());
      LineClient d = g.client();
      BOOST_TEST(eventually([&] { return d.request("CONTENT") == "OK 3 1:free 2:free 3:free"; }));
    }
  }
}

BOOST_AUTO_TEST_CASE(client_limit) {
  for (const card::GridIo io : kIoModels) {
    BOOST_TEST_CONTEXT(card::grid_io_name(io)) {
      GridFixture g(io, 2);
      LineClient a = g.client(), b = g.client();
      BOOST_TEST(a.request("CONTENT").rfind("OK 3", 0) == 0u);
      BOOST_TEST(b.request("CONTENT").rfind("OK 3", 0) == 0u);
      LineClient c = g.client();
      BOOST_TEST(c.read_line() == "ERR BUSY too many clients");
      b.close();
      BOOST_TEST(eventually([&] {
        LineClient d = g.client();
        return d.request("CONTENT").rfind("OK 3", 0) == 0u;
      }));
    }
  }
}

BOOST_AUTO_TEST_CASE(serve_program_and_sigterm) {
  TempDir dir("sekds-card-serve");
  const std::string db = dir.path() + "/grid.db";
  {
    card::SqliteCardStore store(db);
    card::personalise(store, profile_for(kScp03), master_for(kScp03), 4);
  }
  for (const std::string io : {"threads", "event-loop"}) {
    BOOST_TEST_CONTEXT(io) {
      ChildProcess p({SEKDS_CARD_BIN, "serve", "--db", db, "--grid", "127.0.0.1:0", "--io", io});
      const auto banner = p.read_line();
      BOOST_REQUIRE_MESSAGE(banner.has_value(), "no banner; stderr: " + p.stderr_text());
      const auto at = banner->rfind(':');
      BOOST_REQUIRE(at != std::string::npos);
      BOOST_TEST(banner->find("4 card(s)") != std::string::npos);
      BOOST_TEST(banner->find("(" + io + ")") != std::string::npos);
      const auto port = static_cast<std::uint16_t>(std::stoi(banner->substr(at + 1)));
      {
        LineClient c("127.0.0.1", port);
        BOOST_TEST(c.request("CONTENT") == "OK 4 1:free 2:free 3:free 4:free");
        BOOST_TEST(c.request("USE 4") == "OK");
        p.signal(SIGTERM);  // with a client connected
        BOOST_TEST(c.read_line().empty());  // the server closes it
      }
      BOOST_TEST(p.wait().value_or(-1) == 0);
      BOOST_TEST(p.read_line().value_or("") == "sekds-card: stopped");
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
