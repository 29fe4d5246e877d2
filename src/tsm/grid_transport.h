// The grid of secure elements over TCP (contract with sekds-card serve --grid): one request
// line, one response line, '\n'-terminated ASCII.
//   CONTENT            -> "OK <n> <slot>:<free|used> ..."
//   USE <slot>         -> "OK" | "ERR BUSY ..."
//   FREE <slot>        -> "OK"
//   RESET <slot>       -> "OK <ATR hex>"
//   APDU <slot> <hex>  -> "OK <response hex>"
//   errors             -> "ERR <CODE> <message>"
// One GridConnection is one TCP connection (not thread-safe: one per worker); a worker walks
// many slots over it, one GridTransport (USE ... FREE) at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tsm/card_transport.h"

namespace sekds::tsm {

struct GridSlot {
  int slot = 0;
  bool used = false;
};

class GridConnection {
 public:
  // Connects (TCP_NODELAY). Throws TsmError(CardTransport) naming the address and the cause.
  // An answer that takes longer than `timeout_s` is an error (GRID_TIMEOUT), not a hang.
  GridConnection(std::string host, std::uint16_t port, int timeout_s = 30);
  ~GridConnection();
  GridConnection(const GridConnection&) = delete;
  GridConnection& operator=(const GridConnection&) = delete;

  // Sends `line` (without '\n') and returns the answer after "OK" (leading space removed; may
  // be empty). "ERR CODE message" throws TsmError(CardTransport, ..., "GRID_<CODE>").
  std::string request(const std::string& line);
  std::vector<GridSlot> content();
  std::string describe() const;  // "grid:HOST:PORT"

 private:
  std::string read_line();
  std::string host_;
  std::uint16_t port_;
  int fd_ = -1;
  std::string buf_;
};

class GridTransport final : public CardTransport {
 public:
  // USE <slot> now; FREE <slot> on destruction.
  GridTransport(std::shared_ptr<GridConnection> connection, int slot);
  ~GridTransport() override;
  gp::Bytes transmit(gp::ByteView command) override;
  gp::Bytes reset() override;
  std::string describe() const override;
  int slot() const noexcept { return slot_; }

 private:
  std::shared_ptr<GridConnection> conn_;
  int slot_;
  std::string apdu_prefix_;  // "APDU <slot> "
};

}  // namespace sekds::tsm
