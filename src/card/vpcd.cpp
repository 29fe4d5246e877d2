#include "card/vpcd.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>

namespace sekds::card {

namespace {
constexpr std::uint8_t kPowerOff = 0x00, kPowerOn = 0x01, kReset = 0x02, kGetAtr = 0x04;
}

VpcdLink::VpcdLink(Card& card, VpcdOptions options) : card_(card), options_(std::move(options)) {}

void VpcdLink::stop() noexcept {
  stopping_.store(true);
  stop_.wake();
}

void VpcdLink::run() {
  bool reported = false;
  while (!stopping_.load()) {
    Fd fd;
    try {
      fd = connect_tcp(options_.vpcd);
    } catch (const std::exception& e) {
      if (!reported) log(std::string(e.what()) + "; retrying");
      reported = true;
      pollfd p{stop_.fd(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(options_.retry.count()));
      continue;
    }
    reported = false;
    ++connections_;
    log("connected to vpcd at " + options_.vpcd.str());
    card_.reset();
    if (serve(fd.get())) break;
    card_.reset();  // the reader went away: power off
    log("vpcd closed the connection; reconnecting");
  }
}

bool VpcdLink::serve(int fd) {
  Bytes in;
  std::uint8_t buf[8192];
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if ((p[1].revents & POLLIN) != 0) return true;
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return false;
    }
    in.insert(in.end(), buf, buf + r);
    std::size_t pos = 0;
    while (in.size() - pos >= 2) {
      const std::size_t len = (static_cast<std::size_t>(in[pos]) << 8) | in[pos + 1];
      if (in.size() - pos - 2 < len) break;
      const ByteView payload(in.data() + pos + 2, len);
      pos += 2 + len;
      Bytes answer;
      bool reply = false;
      if (len == 1) {
        switch (payload[0]) {
          case kPowerOff:
          case kPowerOn:
          case kReset: card_.reset(); break;
          case kGetAtr:
            answer = Card::atr();
            reply = true;
            break;
          default: break;  // unknown control codes are ignored, as vpcd expects no answer
        }
      } else if (len > 1) {
        answer = card_.transmit(payload);
        reply = true;
      }
      if (reply) {
        Bytes frame;
        frame.reserve(answer.size() + 2);
        gp::put_u16(frame, static_cast<std::uint16_t>(answer.size()));
        frame.insert(frame.end(), answer.begin(), answer.end());
        if (!send_all(fd, frame.data(), frame.size())) return false;
      }
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
  }
}

}  // namespace sekds::card
