// One card as a PC/SC reader through vsmartcard's vpcd driver: pcscd loads the driver, the
// driver listens on a TCP port per reader slot, and this link connects to it as the "virtual
// ICC". Frames both ways are a 2-byte big-endian length and a payload. A 1-byte payload is a
// control code (00 power off, 01 power on, 02 reset, 04 get ATR, which pcscd asks at any
// time, also between APDUs, to see whether the card is still there); only 04 is answered.
// Anything longer is a command APDU, answered by one frame holding the response APDU.
// When vpcd goes away (pcscd restarted) the link powers the card off and reconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "card/card.h"
#include "card/net.h"

namespace sekds::card {

inline constexpr std::uint16_t kVpcdDefaultPort = 35963;  // 0x8C7B, Debian's /etc/reader.conf.d/vpcd

struct VpcdOptions {
  Endpoint vpcd{"127.0.0.1", kVpcdDefaultPort};
  std::chrono::milliseconds retry{250};  // between connection attempts
  std::function<void(const std::string&)> log;
};

class VpcdLink {
 public:
  VpcdLink(Card& card, VpcdOptions options);

  // Connects, serves, reconnects until stop().
  void run();
  void stop() noexcept;
  // Connections made so far (tests wait for the first one).
  unsigned connections() const noexcept { return connections_.load(); }

 private:
  // Serves one connection until it ends (false) or stop() (true).
  bool serve(int fd);
  void log(const std::string& m) const {
    if (options_.log) options_.log(m);
  }
  Card& card_;
  VpcdOptions options_;
  Waker stop_;
  std::atomic<bool> stopping_{false};
  std::atomic<unsigned> connections_{0};
};

}  // namespace sekds::card
