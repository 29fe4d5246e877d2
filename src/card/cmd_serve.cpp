// sekds-card serve: the grid over TCP (--grid), or one card as a PC/SC reader through vpcd
// (--vpcd, --slot). SIGTERM or SIGINT stops it cleanly (exit status 0).
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>

#include "card/commands.h"
#include "card/grid_server.h"
#include "card/sqlite_card_store.h"
#include "card/vpcd.h"

namespace sekds::card {

namespace {

struct ServeArgs {
  std::string db, grid, vpcd;
  int slot = 0;
  std::size_t max_clients = 256;
  std::string io = "threads";
  bool verbose = false;
};

// SIGTERM and SIGINT are blocked in every thread (the mask is inherited) and taken here with
// sigwait, so stopping runs as ordinary code, not in a signal handler.
class SignalThread {
 public:
  explicit SignalThread(std::function<void()> on_signal) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this, on_signal = std::move(on_signal)] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (!done_) on_signal();
    });
  }
  ~SignalThread() {
    done_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);  // ends sigwait if no signal came
    thread_.join();
  }
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  sigset_t set_{};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

void log_line(const std::string& m) { std::cerr << "sekds-card: " << m << std::endl; }

void run(const ServeArgs& a) {
  if (a.grid.empty() == a.vpcd.empty()) throw std::invalid_argument("serve needs exactly one of --grid and --vpcd");
  if (!a.vpcd.empty() && a.slot <= 0) throw std::invalid_argument("--vpcd needs --slot N");
  signal(SIGPIPE, SIG_IGN);
  // Block the stop signals before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  SqliteCardStore store(a.db);
  auto cards = store.load_all();
  if (!a.grid.empty()) {
    GridServerOptions o;
    o.listen = parse_endpoint(a.grid, "127.0.0.1");
    o.max_clients = a.max_clients;
    o.io = a.io == "event-loop" ? GridIo::EventLoop : GridIo::Threads;
    if (a.verbose) o.log = log_line;
    Grid grid(std::move(cards), &store);
    GridServer server(grid, o);
    std::cout << "sekds-card: serving " << grid.size() << " card(s) from " << a.db << " on grid " << server.endpoint().str()
              << " (" << grid_io_name(o.io) << ")" << std::endl;
    SignalThread signals([&server] { server.stop(); });
    server.run();
  } else {
    auto it = std::find_if(cards.begin(), cards.end(), [&](const CardState& c) { return c.slot == a.slot; });
    if (it == cards.end()) throw std::invalid_argument("--slot: no card in slot " + std::to_string(a.slot) + " of " + a.db);
    Card card(std::move(*it), &store);
    VpcdOptions o;
    o.vpcd = parse_endpoint(a.vpcd, "127.0.0.1");
    o.log = log_line;
    VpcdLink link(card, o);
    std::cout << "sekds-card: slot " << a.slot << " from " << a.db << " as the card of vpcd " << o.vpcd.str() << std::endl;
    SignalThread signals([&link] { link.stop(); });
    link.run();
  }
  std::cout << "sekds-card: stopped" << std::endl;
}

}  // namespace

void register_serve(CLI::App& app) {
  auto args = std::make_shared<ServeArgs>();
  auto* cmd = app.add_subcommand("serve", "serve the cards of a grid database over TCP (--grid) or to pcsc-lite through vpcd (--vpcd)");
  cmd->add_option("--db", args->db, "grid database")->required()->check(CLI::ExistingFile);
  cmd->add_option("--grid", args->grid, "HOST:PORT or PORT (host 127.0.0.1) to listen on; port 0 picks a free one");
  cmd->add_option("--vpcd", args->vpcd, "HOST:PORT of vpcd's reader slot (default port 35963)");
  cmd->add_option("--slot", args->slot, "the card to show through vpcd");
  cmd->add_option("--max-clients", args->max_clients, "grid: most simultaneous connections")->check(CLI::Range(1, 4096));
  cmd->add_option("--io", args->io, "grid: I/O model, threads (one per connection) or event-loop (one epoll thread)")
      ->check(CLI::IsMember({"threads", "event-loop"}));
  cmd->add_flag("--verbose", args->verbose, "grid: log connection events on stderr");
  cmd->callback([args] { run(*args); });
}

}  // namespace sekds::card
