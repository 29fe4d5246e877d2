// The grid over TCP. Each connection feeds its lines to a Grid::Client in order and gets the
// response lines back (pipelined requests are answered in order). Loopback by default; lines
// are bounded (kMaxGridLine) and so is the number of clients.
// Two I/O models, chosen by GridServerOptions::io, measured against each other by
// bench/card_grid.cpp (figures in src/card/README.md):
//   threads     one thread per connection, blocking reads. The default: on 2 cores its bare
//               round trips reached 2-3x the event loop's with 4-8 clients (the card work then
//               runs on both cores), and full TSM flows were as fast or faster;
//   event-loop  one thread, epoll, non-blocking sockets: a fixed thread count whatever the
//               number of clients, at the price of all card work on one core.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "card/grid.h"
#include "card/net.h"

namespace sekds::card {

enum class GridIo { Threads, EventLoop };
const char* grid_io_name(GridIo io) noexcept;  // "threads", "event-loop"

struct GridServerOptions {
  Endpoint listen{"127.0.0.1", 0};  // port 0: any free port (see port())
  GridIo io = GridIo::Threads;
  std::size_t max_clients = 256;
  std::size_t max_line = kMaxGridLine;
  std::function<void(const std::string&)> log;  // connection events; may be empty
};

class GridServer {
 public:
  // Binds and listens at once (throws std::system_error), so port() is known before run().
  GridServer(Grid& grid, GridServerOptions options);
  ~GridServer();
  GridServer(const GridServer&) = delete;
  GridServer& operator=(const GridServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  Endpoint endpoint() const { return {options_.listen.host, port_}; }

  // Accepts and serves until stop(); returns when every connection is closed.
  void run();
  // From any thread (e.g. a signal-handling one).
  void stop() noexcept;

 private:
  struct Connection {
    std::thread thread;
    Fd fd;
  };
  void run_threads();
  void run_event_loop();
  void serve(std::uint64_t id, int fd);
  void reap();
  void log(const std::string& m) const {
    if (options_.log) options_.log(m);
  }

  Grid& grid_;
  GridServerOptions options_;
  Fd listen_;
  std::uint16_t port_ = 0;
  Waker stop_, finished_wake_;
  std::atomic<bool> stopping_{false};
  std::mutex m_;
  std::map<std::uint64_t, Connection> connections_;
  std::vector<std::uint64_t> finished_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sekds::card
