// A grid of secure elements behind a line protocol (one request line, one response line,
// '\n'-terminated ASCII). The transport (grid_server.h) feeds lines; this is the protocol:
//
//   CONTENT            -> OK <n> <slot>:<free|used> ...   every slot, in slot order
//   USE <slot>         -> OK                              reserve it (again by its holder: OK)
//   FREE <slot>        -> OK                              release it; the card is powered off
//   RESET <slot>       -> OK <ATR hex>                    power cycle: session closed, ISD selected
//   APDU <slot> <hex>  -> OK <response hex>               data + SW
//   anything wrong     -> ERR <CODE> <message>
//
// Error codes: UNKNOWN (command), SYNTAX (arguments), SLOT (no such slot), BUSY (reserved by
// another client), NOTRESERVED (RESET/APDU/FREE of a slot the client does not hold), HEX (APDU
// not hex), TOOLONG (line over the limit; the connection is then closed), INTERNAL (a failure
// of the server itself, e.g. memory). A client's
// reservations end when it disconnects (its Client object is destroyed).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "card/card.h"
#include "card/card_store.h"

namespace sekds::card {

// Longest accepted request line: an extended APDU with 65535 data bytes in hex, plus the command.
inline constexpr std::size_t kMaxGridLine = 2 * (7 + 65535 + 2) + 64;

class Grid {
  struct Slot;

 public:
  Grid(std::vector<CardState> cards, CardStore* store, CardLimits limits = {});
  ~Grid();
  Grid(const Grid&) = delete;
  Grid& operator=(const Grid&) = delete;

  std::size_t size() const noexcept { return slots_.size(); }

  // One connected client. Not thread-safe itself (a connection's lines come in order);
  // any number of clients may run at once on different threads.
  class Client {
   public:
    explicit Client(Grid& grid);
    ~Client();  // frees (and powers off) every slot this client holds
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // The response line for one request line (without '\n'; a trailing '\r' is ignored).
    std::string handle(std::string_view line);
    std::uint64_t id() const noexcept { return id_; }

   private:
    std::string dispatch(std::string_view line);
    std::string use(Slot& s);
    std::string free(Slot& s);
    std::string reset(Slot& s);
    std::string apdu(Slot& s, std::string_view hex);
    Grid& grid_;
    std::uint64_t id_;
    std::vector<Slot*> held_;
  };

 private:
  struct Slot {
    int number = 0;
    std::mutex m;  // the card is used by one thread at a time
    std::unique_ptr<Card> card;
    std::atomic<std::uint64_t> owner{0};  // client id, 0 = free
  };
  Slot* find(int number) noexcept;
  std::string content() const;

  std::vector<std::unique_ptr<Slot>> slots_;  // sorted by slot number
  std::atomic<std::uint64_t> next_client_{1};
};

}  // namespace sekds::card
