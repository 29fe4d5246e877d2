// SIGTERM while requests are in flight: they complete, idle connections are closed, the
// on_shutdown hook runs and the process exits 0. The server runs in a forked child (with a
// KeyService that takes its time) under run_until_signal(), exactly as sekds-server does.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "service/logging.h"
#include "support.h"

using namespace sekds::service;
using namespace sekds::test;

namespace {

// Child side: never returns.
[[noreturn]] void run_child(const TempDir& dir) {
  int rc = 1;
  try {
    configure_logging("info", dir / "child.log");
    ScriptedKeyService keys;
    keys.on_kek_info([&dir](const CallerIdentity& who) -> std::variant<std::vector<KekInfo>, Fault> {
      // Say "entered", then take a while: SIGTERM arrives during this.
      std::ofstream(dir / ("entered-" + std::to_string(::getpid()) + "-" + who.peer_address)) << "x";
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      return std::vector<KekInfo>{{9, "AES128", {1, 2, 3}, "active", std::nullopt, std::nullopt}};
    });
    MetricsRegistry registry;
    ServiceMetrics metrics(registry);
    ServerConfig config = test_config();
    Server server(config, keys, metrics);
    server.set_on_shutdown([&dir] { std::ofstream(dir / "shutdown-hook") << "ran"; });
    rc = run_until_signal(server);
  } catch (const std::exception& e) {
    std::ofstream(dir / "child-error") << e.what();
  }
  ::_exit(rc);
}

std::uint16_t port_from_log(const TempDir& dir) {
  std::uint16_t port = 0;
  eventually([&] {
    std::ifstream in(dir / "child.log");
    std::string line;
    while (std::getline(in, line)) {
      auto at = line.find("\"event\":\"listening\"");
      auto p = line.find("\"port\":");
      if (at != std::string::npos && p != std::string::npos) port = static_cast<std::uint16_t>(std::stoi(line.substr(p + 7)));
    }
    return port != 0;
  });
  return port;
}

int entered_count(const TempDir& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir.path()))
    if (e.path().filename().string().rfind("entered-", 0) == 0) ++n;
  return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(shutdown)

BOOST_AUTO_TEST_CASE(sigterm_finishes_in_flight_requests_and_exits_0) {
  TempDir dir;
  pki();  // made before forking, so the child finds it
  pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) run_child(dir);

  std::uint16_t port = port_from_log(dir);
  BOOST_REQUIRE_MESSAGE(port != 0, "child server did not start");
  ClientOptions o;
  o.endpoint = "https://localhost:" + std::to_string(port) + "/sekds/v1";
  o.certificate = pki().crt("tsm1");
  o.private_key = pki().key("tsm1");
  o.ca_file = pki().crt("ca");

  // An idle keep-alive connection: must be closed by the shutdown, not keep it waiting.
  Client idle(o);
  BOOST_REQUIRE(std::holds_alternative<std::string>(idle.ping("idle")));

  constexpr int kInFlight = 3;
  std::vector<Result<std::vector<KekInfo>>> results(kInFlight);
  std::vector<std::thread> threads;
  for (int i = 0; i < kInFlight; ++i)
    threads.emplace_back([&, i] { results[static_cast<std::size_t>(i)] = Client(o).get_kek_info(); });

  // All three are inside the KeyService: now stop the server.
  BOOST_REQUIRE(eventually([&] { return entered_count(dir) == kInFlight; }));
  BOOST_REQUIRE_EQUAL(::kill(child, SIGTERM), 0);
  for (auto& t : threads) t.join();

  for (const auto& r : results) {
    BOOST_REQUIRE(std::holds_alternative<std::vector<KekInfo>>(r));
    BOOST_TEST(std::get<std::vector<KekInfo>>(r).at(0).index == 9u);
  }
  int status = 0;
  BOOST_REQUIRE_EQUAL(::waitpid(child, &status, 0), child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0);
  BOOST_TEST(fs::exists(dir / "shutdown-hook"));
  BOOST_TEST(!fs::exists(dir / "child-error"));
  // stopped: nothing listens any more
  auto after = Client(o).ping("anyone?");
  BOOST_REQUIRE(std::holds_alternative<TransportError>(after));
  BOOST_TEST((std::get<TransportError>(after).kind == TransportError::Kind::ConnectionRefused));
}

BOOST_AUTO_TEST_CASE(sekds_server_binary_exits_0_on_sigterm_and_sigint) {
  for (int sig : {SIGTERM, SIGINT}) {
    TempDir dir;
    ChildServer child(dir, child_config_toml());
    ClientOptions o;
    o.endpoint = "https://localhost:" + std::to_string(child.port()) + "/sekds/v1";
    o.certificate = pki().crt("tsm2");
    o.private_key = pki().key("tsm2");
    o.ca_file = pki().crt("ca");
    Client c(o);
    BOOST_TEST(std::holds_alternative<std::string>(c.ping("before")));
    // without the key-release step, key operations answer HsmUnavailable
    auto k = c.get_kek_info();
    BOOST_REQUIRE(std::holds_alternative<Fault>(k));
    BOOST_TEST((std::get<Fault>(k).code == FaultCode::HsmUnavailable));
    BOOST_TEST(child.signal_and_wait(sig) == 0, child.log());
    BOOST_TEST(child.log().find("\"event\":\"stopped\"") != std::string::npos);
    // one JSON line per request, with who, what, how it ended and how long it took
    int request_lines = 0;
    std::istringstream lines(child.log());
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << line);
      if (j.value("event", "") != "request") continue;
      ++request_lines;
      BOOST_TEST(j.at("tsm_subject").get<std::string>() == "CN=tsm2,O=sekds DEMO ONLY");
      BOOST_TEST(j.at("tsm_fp").get<std::string>().size() == 64u);
      BOOST_TEST(j.contains("ts"));
      BOOST_TEST(j.contains("peer"));
      BOOST_TEST(j.contains("latency_ms"));
      std::string op = j.at("op").get<std::string>();
      BOOST_TEST(j.at("fault").get<std::string>() == (op == "WSGetKekInfo" ? "HsmUnavailable" : "none"), op);
    }
    BOOST_TEST(request_lines == 2);
  }
}

BOOST_AUTO_TEST_SUITE_END()
