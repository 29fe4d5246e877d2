#include "card/grid_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace sekds::card {

GridServer::GridServer(Grid& grid, GridServerOptions options)
    : grid_(grid), options_(std::move(options)), listen_(listen_tcp(options_.listen)), port_(local_port(listen_.get())) {}

GridServer::~GridServer() {
  stop();
  // run() joins everything; if it never ran there is nothing to join.
  std::lock_guard lock(m_);
  for (auto& [id, c] : connections_) {
    ::shutdown(c.fd.get(), SHUT_RDWR);
    if (c.thread.joinable()) c.thread.join();
  }
}

void GridServer::stop() noexcept {
  stopping_.store(true);
  stop_.wake();
}

void GridServer::reap() {
  std::vector<Connection> done;
  {
    std::lock_guard lock(m_);
    for (auto id : finished_) {
      auto it = connections_.find(id);
      if (it == connections_.end()) continue;
      done.push_back(std::move(it->second));
      connections_.erase(it);
    }
    finished_.clear();
  }
  for (auto& c : done)
    if (c.thread.joinable()) c.thread.join();  // then c.fd closes
}

const char* grid_io_name(GridIo io) noexcept { return io == GridIo::Threads ? "threads" : "event-loop"; }

void GridServer::run() {
  if (options_.io == GridIo::Threads)
    run_threads();
  else
    run_event_loop();
}

void GridServer::run_threads() {
  while (!stopping_.load()) {
    pollfd p[3] = {{listen_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}, {finished_wake_.fd(), POLLIN, 0}};
    if (::poll(p, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if ((p[2].revents & POLLIN) != 0) {
      std::uint64_t n = 0;
      [[maybe_unused]] const ssize_t r = ::read(finished_wake_.fd(), &n, sizeof n);
      reap();
    }
    if (stopping_.load()) break;
    if ((p[0].revents & POLLIN) == 0) continue;
    Fd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!client) continue;
    set_nodelay(client.get());
    std::lock_guard lock(m_);
    if (connections_.size() >= options_.max_clients) {
      static constexpr std::string_view kFull = "ERR BUSY too many clients\n";
      send_all(client.get(), kFull.data(), kFull.size());
      log("refused a client: " + std::to_string(options_.max_clients) + " connections already");
      continue;
    }
    const std::uint64_t id = next_id_++;
    const int fd = client.get();
    log("client " + std::to_string(id) + " connected (" + std::to_string(connections_.size() + 1) + " open)");
    auto& c = connections_[id];
    c.fd = std::move(client);
    c.thread = std::thread([this, id, fd] { serve(id, fd); });
  }
  listen_.reset();
  // Wake every connection thread out of recv() and wait for them.
  std::map<std::uint64_t, Connection> all;
  {
    std::lock_guard lock(m_);
    for (auto& [id, c] : connections_) ::shutdown(c.fd.get(), SHUT_RDWR);
    all.swap(connections_);
    finished_.clear();
  }
  for (auto& [id, c] : all)
    if (c.thread.joinable()) c.thread.join();
}

void GridServer::serve(std::uint64_t id, int fd) {
  {
    Grid::Client client(grid_);
    std::string in, out;
    char buf[16384];
    bool open = true;
    while (open) {
      const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r == 0) break;
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      in.append(buf, static_cast<std::size_t>(r));
      std::size_t start = 0;
      for (std::size_t nl; (nl = in.find('\n', start)) != std::string::npos; start = nl + 1) {
        if (nl - start > options_.max_line) {
          open = false;
          break;
        }
        out += client.handle(std::string_view(in).substr(start, nl - start));
        out += '\n';
      }
      in.erase(0, start);
      if (!open || in.size() > options_.max_line) {
        out += "ERR TOOLONG line longer than " + std::to_string(options_.max_line) + " bytes\n";
        open = false;
      }
      if (!out.empty()) {
        if (!send_all(fd, out.data(), out.size())) break;
        out.clear();
      }
    }
  }  // the client's reservations are released here, before the peer can see the close
  ::shutdown(fd, SHUT_RDWR);
  log("client " + std::to_string(id) + " disconnected; its slots are free");
  std::lock_guard lock(m_);
  finished_.push_back(id);
  finished_wake_.wake();
}

}  // namespace sekds::card
