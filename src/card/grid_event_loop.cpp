// GridServer's event-loop model: one thread, epoll (level-triggered), non-blocking sockets.
// Per connection: an input buffer cut into lines, an output buffer flushed as the socket
// allows. A connection whose peer stops reading is not read from either until its output
// drains, so a slow client cannot make the server buffer without bound.
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "card/grid_server.h"

namespace sekds::card {

namespace {

struct Conn {
  Conn(Grid& grid, Fd f) : fd(std::move(f)), client(grid) {}
  Fd fd;
  Grid::Client client;  // destroyed with the connection: its reservations end
  std::string in, out;
  std::size_t out_pos = 0;
  bool peer_done = false;  // EOF read: answer what came, then close
  bool too_long = false;   // a line over the limit: ERR TOOLONG, then close
  bool has_line() const { return in.find('\n') != std::string::npos; }
  bool finished() const { return too_long || (peer_done && !has_line()); }
};

constexpr std::size_t kMaxPendingOutput = 1 << 20;

}  // namespace

void GridServer::run_event_loop() {
  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  if (!ep) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  auto add = [&](int fd, std::uint32_t events) {
    epoll_event e{};
    e.events = events;
    e.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &e);
  };
  auto mod = [&](int fd, std::uint32_t events) {
    epoll_event e{};
    e.events = events;
    e.data.fd = fd;
    ::epoll_ctl(ep.get(), EPOLL_CTL_MOD, fd, &e);
  };
  add(listen_.get(), EPOLLIN);
  add(stop_.fd(), EPOLLIN);
  std::unordered_map<int, std::unique_ptr<Conn>> conns;

  // Sends what it can; false when the connection is finished (error, or closing and drained).
  auto flush = [&](Conn& c) {
    while (c.out_pos < c.out.size()) {
      const ssize_t n = ::send(c.fd.get(), c.out.data() + c.out_pos, c.out.size() - c.out_pos, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      c.out_pos += static_cast<std::size_t>(n);
    }
    if (c.out_pos == c.out.size()) {
      c.out.clear();
      c.out_pos = 0;
      if (c.finished()) return false;
      if (!c.peer_done) mod(c.fd.get(), EPOLLIN | EPOLLRDHUP);
    } else {
      mod(c.fd.get(), EPOLLOUT);  // stop reading until the peer takes its answers
    }
    return true;
  };
  // Answers the complete lines in `in` (stopping early when much output waits), then flushes.
  auto handle_lines = [&](Conn& c) {
    for (;;) {
      std::size_t start = 0;
      for (std::size_t nl; !c.too_long && c.out.size() <= kMaxPendingOutput && (nl = c.in.find('\n', start)) != std::string::npos;
           start = nl + 1) {
        if (nl - start > options_.max_line) {
          c.too_long = true;
          break;
        }
        c.out += c.client.handle(std::string_view(c.in).substr(start, nl - start));
        c.out += '\n';
      }
      c.in.erase(0, start);
      if (!c.too_long && !c.has_line() && c.in.size() > options_.max_line) c.too_long = true;
      if (c.too_long) {
        c.out += "ERR TOOLONG line longer than " + std::to_string(options_.max_line) + " bytes\n";
        c.in.clear();
      }
      if (!flush(c)) return false;
      // Output drained at once but lines still wait (the pending-output cap): go on.
      if (c.too_long || !c.out.empty() || !c.has_line()) return true;
    }
  };
  auto read_and_handle = [&](Conn& c) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(c.fd.get(), buf, sizeof buf, 0);
      if (n == 0) {
        c.peer_done = true;
        break;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      c.in.append(buf, static_cast<std::size_t>(n));
      if (c.in.size() > options_.max_line + sizeof buf) break;  // judged by handle_lines
    }
    return handle_lines(c);
  };

  epoll_event events[64];
  while (!stopping_.load()) {
    const int n = ::epoll_wait(ep.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_.fd()) continue;  // the loop condition sees stopping_
      if (fd == listen_.get()) {
        Fd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (!client) continue;
        set_nodelay(client.get());
        if (conns.size() >= options_.max_clients) {
          static constexpr std::string_view kFull = "ERR BUSY too many clients\n";
          [[maybe_unused]] const ssize_t w = ::send(client.get(), kFull.data(), kFull.size(), MSG_NOSIGNAL);
          log("refused a client: " + std::to_string(options_.max_clients) + " connections already");
          continue;
        }
        const int cfd = client.get();
        conns.emplace(cfd, std::make_unique<Conn>(grid_, std::move(client)));
        log("client connected (" + std::to_string(conns.size()) + " open)");
        add(cfd, EPOLLIN | EPOLLRDHUP);
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      Conn& c = *it->second;
      bool alive = true;
      if ((events[i].events & EPOLLOUT) != 0) {
        alive = flush(c);
        // Lines that arrived while the output was blocked are handled now.
        if (alive && c.out.empty() && c.in.find('\n') != std::string::npos) alive = handle_lines(c);
      } else if ((events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        alive = read_and_handle(c);
      }
      if (!alive) {
        ::epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
        conns.erase(it);  // frees the client's slots, then closes the socket
        log("client disconnected; its slots are free");
      }
    }
  }
  listen_.reset();
  conns.clear();
}

}  // namespace sekds::card
