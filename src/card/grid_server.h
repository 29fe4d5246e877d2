// The grid over TCP: one thread per connection, each feeding its lines to a Grid::Client in
// order and writing the response lines back (pipelined requests are answered in order).
// Loopback by default; lines are bounded (kMaxGridLine) and so is the number of clients.
// Why threads: a TSM client waits for each answer before its next request, so every request
// costs one wake-up either way; blocking reads keep that path short (bench/card_grid.cpp
// measures the flows per second this gives).
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

struct GridServerOptions {
  Endpoint listen{"127.0.0.1", 0};  // port 0: any free port (see port())
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
