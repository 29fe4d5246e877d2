// The grid of virtual cards under TSM-like load: client threads run full card flows over the
// grid's TCP line protocol, against a baseline of bare round trips on the same connections.
//
//   bench_card_grid [--cards 64] [--clients 1,2,4,8] [--seconds 3] [--load-size 0|9000] [--level 03]
//                   [--io threads,event-loop]
//
// One flow, as the TSM does it (DESIGN §1): USE, RESET, SELECT ISD, GET DATA '5F50' 'CF' 'E0'
// 'C1' '66', INITIALIZE UPDATE + EXTERNAL AUTHENTICATE (SCP03 i=70, KDF3 keys), PUT KEY (the
// card's key set rotated to fresh keys under a new KVN: a key-set write), GET STATUS ISD and
// applications, [INSTALL for load, LOAD of a --load-size file in 239-byte blocks, INSTALL,
// DELETE], FREE. The counter and the key set are written to the SQLite file on every flow.
// Baseline: "APDU <slot> 80FF0000" (the card answers 6D00 at once) in a loop: the transport
// and line parsing alone. The server runs in this process on 127.0.0.1 with each I/O model in
// turn (same database, same clients), so the models are compared in the same run; the client
// side's crypto shares the 2 cores with the server, as a TSM on the same machine would.
//
// Prints one JSON document on stdout; progress goes to stderr.
#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "card/grid_server.h"
#include "card/load_file.h"
#include "card/personalise.h"
#include "card/sqlite_card_store.h"
#include "gp/crypto.h"
#include "gp/put_key.h"
#include "gp/scp_common.h"
#include "gp/tlv.h"

using namespace sekds;
using Clock = std::chrono::steady_clock;
using gp::Bytes;

namespace {

const Bytes kMaster = gp::from_hex("404142434445464748494A4B4C4D4E4F");
const Bytes kPackage = gp::from_hex("A0000001515350");
const Bytes kApplet = gp::from_hex("A000000151535041");
const Bytes kApp = gp::from_hex("A00000015153504101");

class Line {
 public:
  explicit Line(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~Line() { ::close(fd_); }
  std::string request(const std::string& line) {
    const std::string out = line + "\n";
    if (::send(fd_, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size())) throw std::runtime_error("send");
    for (;;) {
      const auto nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string r = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return r;
      }
      char b[65536];
      const ssize_t n = ::recv(fd_, b, sizeof b, 0);
      if (n <= 0) throw std::runtime_error("connection closed");
      buf_.append(b, static_cast<std::size_t>(n));
    }
  }
  Bytes apdu(int slot, gp::ByteView c) {
    const std::string r = request("APDU " + std::to_string(slot) + " " + gp::to_hex(c));
    if (r.rfind("OK ", 0) != 0) throw std::runtime_error("grid: " + r);
    return gp::from_hex(std::string_view(r).substr(3));
  }

 private:
  int fd_;
  std::string buf_;
};

struct CardKeys {
  std::uint8_t kvn;
  gp::StaticKeys keys;
};

gp::ResponseApdu expect(const gp::ResponseApdu& r, const char* what, std::uint16_t ok2 = 0x9000) {
  if (r.sw != 0x9000 && r.sw != ok2) throw std::runtime_error(std::string(what) + ": " + gp::sw_describe(r.sw));
  return r;
}

std::vector<gp::CommandApdu> load_commands(const Bytes& file) {
  const Bytes block = card::make_load_file_data_block(file);
  std::vector<gp::CommandApdu> out;
  for (std::size_t pos = 0, n = 0; pos < block.size(); pos += 239, ++n) {
    const std::size_t len = std::min<std::size_t>(239, block.size() - pos);
    out.emplace_back(0x80, 0xE8, pos + len == block.size() ? 0x80 : 0x00, static_cast<std::uint8_t>(n),
                     Bytes(block.begin() + static_cast<std::ptrdiff_t>(pos), block.begin() + static_cast<std::ptrdiff_t>(pos + len)));
  }
  return out;
}

gp::CommandApdu install(std::uint8_t p1, std::initializer_list<gp::ByteView> fields) {
  Bytes d;
  for (auto f : fields) {
    d.push_back(static_cast<std::uint8_t>(f.size()));
    d.insert(d.end(), f.begin(), f.end());
  }
  return gp::CommandApdu(0x80, 0xE6, p1, 0x00, d, 256u);
}

// One full flow on `slot`; returns the round trips it took.
int flow(Line& line, int slot, CardKeys& ck, std::uint8_t level, const std::vector<gp::CommandApdu>& loads) {
  int trips = 0;
  auto req = [&](const std::string& l) {
    ++trips;
    const std::string r = line.request(l);
    if (r.rfind("OK", 0) != 0) throw std::runtime_error(l + ": " + r);
  };
  const gp::Transmit tx = [&](gp::ByteView b) {
    ++trips;
    return line.apdu(slot, b);
  };
  const std::string s = std::to_string(slot);
  req("USE " + s);
  req("RESET " + s);
  auto plain = [&](const gp::CommandApdu& c, const char* what) { return expect(gp::ResponseApdu::parse(tx(c.encode())), what); };
  plain(gp::CommandApdu(0x00, 0xA4, 0x04, 0x00, card::kIsdAid, 256u), "SELECT");
  for (gp::Tag t : {0x5F50u, 0xCFu, 0xE0u, 0xC1u, 0x66u})
    plain(gp::CommandApdu(0x80, 0xCA, static_cast<std::uint8_t>(t >> 8), static_cast<std::uint8_t>(t), {}, 256u), "GET DATA");
  auto host = gp::make_host_session(gp::Scp::Scp03, ck.keys, {0x55, false, card::kIsdAid});
  gp::open_secure_channel(*host, tx, ck.kvn, gp::SecurityLevel(level));
  const std::uint8_t next = ck.kvn == 0x30 ? 0x31 : 0x30;
  gp::StaticKeys fresh{gp::random_secure(16), gp::random_secure(16), gp::random_secure(16)};
  const auto pk = gp::PutKey::key_set(next, gp::KeyType::Aes128, fresh, ck.kvn);
  expect(gp::transmit_secure(*host, tx, pk.command(host->key_encryptor())), "PUT KEY");
  ck = {next, std::move(fresh)};
  expect(gp::transmit_secure(*host, tx, gp::CommandApdu(0x80, 0xF2, 0x80, 0x02, Bytes{0x4F, 0x00}, 256u)), "GET STATUS");
  expect(gp::transmit_secure(*host, tx, gp::CommandApdu(0x80, 0xF2, 0x40, 0x02, Bytes{0x4F, 0x00}, 256u)), "GET STATUS",
         0x6A88);
  if (!loads.empty()) {
    expect(gp::transmit_secure(*host, tx, install(0x02, {kPackage, card::kIsdAid, {}, {}, {}})), "INSTALL [for load]");
    for (const auto& c : loads) expect(gp::transmit_secure(*host, tx, c), "LOAD");
    const Bytes priv{0x00}, params{0xC9, 0x00};
    expect(gp::transmit_secure(*host, tx, install(0x0C, {kPackage, kApplet, kApp, priv, params, {}})), "INSTALL");
    expect(gp::transmit_secure(*host, tx, gp::CommandApdu(0x80, 0xE4, 0x00, 0x80, gp::encode_tlv(0x4F, kPackage), 256u)),
           "DELETE");
  }
  req("FREE " + s);
  return trips;
}

struct Result {
  double per_second;
  double trips_per_second;
  long count;
};

template <class Work>
Result run_threads(int clients, double seconds, Work work) {
  std::atomic<bool> stop{false};
  std::atomic<long> count{0}, trips{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < clients; ++t)
    ts.emplace_back([&, t] {
      try {
        long c = 0, tr = 0;
        work(t, stop, c, tr);
        count += c;
        trips += tr;
      } catch (const std::exception& e) {
        std::cerr << "client " << t << ": " << e.what() << '\n';
        ++errors;
      }
    });
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : ts) th.join();
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  if (errors > 0) throw std::runtime_error("clients failed");
  return {static_cast<double>(count) / dt, static_cast<double>(trips) / dt, count.load()};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_card_grid: full TSM card flows per second over the grid, against bare round trips"};
  int cards = 64;
  std::string clients_list = "1,2,4,8";
  double seconds = 3;
  std::size_t load_size = 0;
  std::string level_hex = "03";
  std::string io_list = "threads,event-loop";
  bool baseline = true;
  app.add_option("--cards", cards, "cards in the grid")->check(CLI::Range(1, 100000));
  app.add_option("--clients", clients_list, "client thread counts, comma-separated");
  app.add_option("--seconds", seconds, "duration of each measurement");
  app.add_option("--load-size", load_size, "also INSTALL/LOAD/INSTALL/DELETE a load file of this size (0: no)");
  app.add_option("--level", level_hex, "security level of the flows (hex: 01, 03, 33)");
  app.add_flag("!--no-baseline", baseline, "skip the bare round-trip baseline (for profiling the flows)");
  app.add_option("--io", io_list, "server I/O models to measure, comma-separated (event-loop, threads)");
  CLI11_PARSE(app, argc, argv);

  std::vector<int> client_counts;
  {
    std::stringstream ss(clients_list);
    for (std::string x; std::getline(ss, x, ',');) client_counts.push_back(std::stoi(x));
  }
  const auto level = static_cast<std::uint8_t>(std::stoul(level_hex, nullptr, 16));
  char tmpl[] = "/tmp/sekds-bench-card-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string db = std::string(tmpl) + "/grid.db";

  card::SqliteCardStore store(db);
  card::PersonalisationProfile p;
  p.iin = gp::from_hex("4242");
  p.kvn = 0x30;
  p.scp = gp::Scp::Scp03;
  p.i = 0x70;
  p.method = gp::DiversificationMethod::Kdf3;
  p.url = "https://ttp.example:8443/sekds/v1";
  const auto made = card::personalise(store, p, kMaster, static_cast<std::size_t>(cards));
  std::map<int, CardKeys> keys;
  for (const auto& c : made)
    keys.emplace(c.slot, CardKeys{0x30, gp::diversify(gp::DiversificationScheme::of(p.method), kMaster, c.identity.kdd)});
  std::vector<gp::CommandApdu> loads;
  if (load_size > 0) {
    card::LoadFileSpec spec;
    spec.package_aid = kPackage;
    spec.applet_aids = {kApplet};
    spec.size = load_size;
    loads = load_commands(card::make_load_file(spec));
  }

  nlohmann::json out = {{"bench", "card_grid"},
                        {"cards", cards},
                        {"level", level_hex},
                        {"load_size", load_size},
                        {"seconds", seconds},
                        {"runs", nlohmann::json::array()}};
  int rc = 0;
  std::vector<card::GridIo> ios;
  {
    std::stringstream ss(io_list);
    for (std::string x; std::getline(ss, x, ',');) ios.push_back(x == "threads" ? card::GridIo::Threads : card::GridIo::EventLoop);
  }
  card::Grid grid(store.load_all(), &store);
  try {
    for (card::GridIo io : ios)
    for (int clients : client_counts) {
      card::GridServerOptions so;
      so.io = io;
      card::GridServer server(grid, so);
      std::thread runner([&] { server.run(); });
      struct Join {
        card::GridServer& s;
        std::thread& t;
        ~Join() {
          s.stop();
          t.join();
        }
      } join{server, runner};
      const std::uint16_t port = server.port();
      if (clients > cards) continue;
      std::cerr << card::grid_io_name(io) << ", clients " << clients << ": baseline... " << std::flush;
      const Result base = !baseline ? Result{1, 1, 0} : run_threads(clients, seconds, [&](int t, std::atomic<bool>& stop, long& c, long& tr) {
        Line line(port);
        const int slot = made[static_cast<std::size_t>(t)].slot;
        if (line.request("USE " + std::to_string(slot)) != "OK") throw std::runtime_error("USE");
        const Bytes probe = gp::from_hex("80FF0000");
        while (!stop) {
          line.apdu(slot, probe);
          ++c;
          ++tr;
        }
        line.request("FREE " + std::to_string(slot));
      });
      std::cerr << static_cast<long>(base.per_second) << " round trips/s; flows... " << std::flush;
      const Result flows = run_threads(clients, seconds, [&](int t, std::atomic<bool>& stop, long& c, long& tr) {
        Line line(port);
        std::vector<int> mine;
        for (std::size_t i = static_cast<std::size_t>(t); i < made.size(); i += static_cast<std::size_t>(clients))
          mine.push_back(made[i].slot);
        for (std::size_t i = 0; !stop; ++i) {
          const int slot = mine[i % mine.size()];
          tr += flow(line, slot, keys.at(slot), level, loads);
          ++c;
        }
      });
      std::cerr << static_cast<long>(flows.per_second) << " flows/s\n";
      out["runs"].push_back({{"io", card::grid_io_name(io)},
                             {"clients", clients},
                             {"baseline_round_trips_per_s", base.per_second},
                             {"flows_per_s", flows.per_second},
                             {"flow_round_trips_per_s", flows.trips_per_second},
                             {"round_trips_per_flow", flows.count ? flows.trips_per_second / flows.per_second : 0},
                             {"ratio_to_baseline", flows.trips_per_second / base.per_second}});
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_card_grid: " << e.what() << '\n';
    rc = 1;
  }
  std::cout << out.dump(2) << '\n';
  std::error_code ec;
  std::filesystem::remove_all(tmpl, ec);
  return rc;
}
