// The few socket operations the transports need (POSIX, IPv4 and IPv6), with errors as
// std::system_error naming the operation and the address.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sekds::card {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;  // "127.0.0.1:35963", "[::1]:35963"
};

// "HOST:PORT", "[V6]:PORT" or just "PORT" (then `default_host`). Throws std::invalid_argument.
Endpoint parse_endpoint(std::string_view text, std::string_view default_host);

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    const int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

Fd listen_tcp(const Endpoint& at, int backlog = 128);
std::uint16_t local_port(int fd);
// Blocking connect; throws std::system_error.
Fd connect_tcp(const Endpoint& to);
// Sends everything (MSG_NOSIGNAL); false when the peer is gone.
bool send_all(int fd, const void* data, std::size_t n) noexcept;
void set_nodelay(int fd) noexcept;

// An eventfd that wakes poll() loops for shutdown.
class Waker {
 public:
  Waker();
  void wake() noexcept;
  int fd() const noexcept { return fd_.get(); }
  bool woken() const noexcept;

 private:
  Fd fd_;
};

}  // namespace sekds::card
