#include "tsm/grid_transport.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gp/error.h"
#include "tsm/error.h"

namespace sekds::tsm {
namespace {

// A grid answer line is at most an APDU response in hex plus a little: 64 KiB is plenty and
// bounds what a confused peer can make us buffer.
constexpr std::size_t kMaxLine = 64 * 1024 + 64;

std::string errno_text(int e) { return std::strerror(e); }

}  // namespace

GridConnection::GridConnection(std::string host, std::uint16_t port, int timeout_s) : host_(std::move(host)), port_(port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port_text = std::to_string(port_);
  int rc = ::getaddrinfo(host_.c_str(), port_text.c_str(), &hints, &res);
  if (rc != 0)
    throw TsmError(TsmErrc::CardTransport, describe() + ": cannot resolve '" + host_ + "': " + gai_strerror(rc),
                   "GRID_RESOLVE");
  int last_errno = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      timeval tv{};
      tv.tv_sec = timeout_s;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      fd_ = fd;
      break;
    }
    last_errno = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0)
    throw TsmError(TsmErrc::CardTransport, describe() + ": cannot connect: " + errno_text(last_errno),
                   last_errno == ECONNREFUSED ? "GRID_CONNECTION_REFUSED" : "GRID_CONNECT");
}

GridConnection::~GridConnection() {
  if (fd_ >= 0) ::close(fd_);
}

std::string GridConnection::describe() const {
  const bool v6 = host_.find(':') != std::string::npos;
  return "grid:" + (v6 ? "[" + host_ + "]" : host_) + ":" + std::to_string(port_);
}

std::string GridConnection::read_line() {
  for (;;) {
    const auto nl = buf_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buf_.size() > kMaxLine)
      throw TsmError(TsmErrc::CardTransport, describe() + ": answer line longer than " + std::to_string(kMaxLine) + " bytes",
                     "GRID_PROTOCOL");
    char tmp[16384];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n == 0) throw TsmError(TsmErrc::CardTransport, describe() + ": the grid closed the connection", "GRID_CLOSED");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw TsmError(TsmErrc::CardTransport, describe() + ": no answer from the grid in time", "GRID_TIMEOUT");
      throw TsmError(TsmErrc::CardTransport, describe() + ": read: " + errno_text(errno), "GRID_IO");
    }
    buf_.append(tmp, static_cast<std::size_t>(n));
  }
}

std::string GridConnection::request(const std::string& line) {
  if (fd_ < 0) throw TsmError(TsmErrc::CardTransport, describe() + ": not connected", "GRID_CLOSED");
  std::string out = line;
  out.push_back('\n');
  std::size_t off = 0;
  while (off < out.size()) {
    ssize_t n = ::send(fd_, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        throw TsmError(TsmErrc::CardTransport, describe() + ": the grid takes no more data", "GRID_TIMEOUT");
      throw TsmError(TsmErrc::CardTransport, describe() + ": write: " + errno_text(errno), "GRID_IO");
    }
    off += static_cast<std::size_t>(n);
  }
  std::string answer = read_line();
  if (answer == "OK") return {};
  if (answer.rfind("OK ", 0) == 0) return answer.substr(3);
  if (answer.rfind("ERR", 0) == 0) {
    std::string rest = answer.size() > 4 ? answer.substr(4) : std::string();
    const auto sp = rest.find(' ');
    std::string code = rest.substr(0, sp);
    const std::string verb = line.substr(0, line.find(' '));
    std::string cmd = verb == "APDU" ? line.substr(0, line.find(' ', 5)) : line;  // no APDU bytes in messages
    throw TsmError(TsmErrc::CardTransport, describe() + ": " + cmd + ": " + answer, "GRID_" + (code.empty() ? "ERR" : code));
  }
  throw TsmError(TsmErrc::CardTransport, describe() + ": unexpected answer '" + answer.substr(0, 80) + "'", "GRID_PROTOCOL");
}

std::vector<GridSlot> GridConnection::content() {
  const std::string rest = request("CONTENT");
  std::vector<GridSlot> out;
  std::size_t pos = 0;
  auto next_word = [&]() -> std::string {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    const auto end = rest.find(' ', pos);
    std::string w = rest.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? rest.size() : end;
    return w;
  };
  const std::string count = next_word();
  for (std::string w = next_word(); !w.empty(); w = next_word()) {
    const auto colon = w.find(':');
    GridSlot s;
    try {
      s.slot = std::stoi(w.substr(0, colon));
    } catch (const std::exception&) {
      throw TsmError(TsmErrc::CardTransport, describe() + ": CONTENT: bad slot '" + w + "'", "GRID_PROTOCOL");
    }
    s.used = colon != std::string::npos && w.substr(colon + 1) == "used";
    out.push_back(s);
  }
  if (count != std::to_string(out.size()))
    throw TsmError(TsmErrc::CardTransport, describe() + ": CONTENT says " + count + " slots but lists " +
                                               std::to_string(out.size()),
                   "GRID_PROTOCOL");
  return out;
}

GridTransport::GridTransport(std::shared_ptr<GridConnection> connection, int slot)
    : conn_(std::move(connection)), slot_(slot), apdu_prefix_("APDU " + std::to_string(slot) + " ") {
  conn_->request("USE " + std::to_string(slot_));
}

GridTransport::~GridTransport() {
  try {
    conn_->request("FREE " + std::to_string(slot_));
  } catch (...) {
    // The connection may be gone; the grid frees a closed connection's slots itself.
  }
}

gp::Bytes GridTransport::transmit(gp::ByteView command) {
  std::string line = apdu_prefix_;
  line += gp::to_hex(command);
  const std::string hex = conn_->request(line);
  try {
    return gp::from_hex(hex, "grid APDU response");
  } catch (const gp::GpError& e) {
    throw TsmError(TsmErrc::CardTransport, describe() + ": " + e.what(), "GRID_PROTOCOL");
  }
}

gp::Bytes GridTransport::reset() {
  const std::string hex = conn_->request("RESET " + std::to_string(slot_));
  try {
    return gp::from_hex(hex, "grid ATR");
  } catch (const gp::GpError& e) {
    throw TsmError(TsmErrc::CardTransport, describe() + ": " + e.what(), "GRID_PROTOCOL");
  }
}

std::string GridTransport::describe() const { return conn_->describe() + "/" + std::to_string(slot_); }

}  // namespace sekds::tsm
