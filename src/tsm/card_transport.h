// How the TSM reaches a card (DESIGN §7, step 1): an APDU in, the response out, a reset, a
// description for messages. The transports:
//   grid:HOST:PORT/SLOT        a slot of a grid of secure elements (grid_transport.h)
//   pcsc:READER                a reader through pcsc-lite (pcsc_transport.h)
//   FunctionTransport          a function (in-process card engines in tests)
// A `--card` spec may name a range of grid slots (grid:HOST:PORT/FIRST-LAST) for batch runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gp/apdu.h"
#include "gp/bytes.h"
#include "gp/scp_common.h"

namespace sekds::tsm {

class CardTransport {
 public:
  virtual ~CardTransport() = default;
  // Sends one command APDU (wire bytes) and returns the response (data + SW). Throws
  // TsmError(CardTransport) when the card cannot be reached.
  virtual gp::Bytes transmit(gp::ByteView command) = 0;
  // Power-cycles / resets the card (ends any secure channel) and returns its ATR.
  virtual gp::Bytes reset() = 0;
  // "grid:127.0.0.1:9000/3", "pcsc:Virtual PCD 00 00" ...
  virtual std::string describe() const = 0;
};

// A transport made of functions: the in-process card of a test.
class FunctionTransport final : public CardTransport {
 public:
  using TransmitFn = std::function<gp::Bytes(gp::ByteView)>;
  using ResetFn = std::function<gp::Bytes()>;
  FunctionTransport(TransmitFn transmit, ResetFn reset, std::string description = "in-process card");
  gp::Bytes transmit(gp::ByteView command) override { return transmit_(command); }
  gp::Bytes reset() override { return reset_ ? reset_() : gp::Bytes{}; }
  std::string describe() const override { return description_; }

 private:
  TransmitFn transmit_;
  ResetFn reset_;
  std::string description_;
};

// A parsed `--card` value.
struct CardSpec {
  enum class Kind { Pcsc, Grid };
  Kind kind = Kind::Grid;
  std::string reader;       // pcsc
  std::string host;         // grid (without brackets for IPv6)
  std::uint16_t port = 0;   // grid
  int first_slot = 0;       // grid
  int last_slot = 0;        // grid; == first_slot for one card

  // Throws TsmError(Usage) naming what is wrong:
  //   "pcsc:READER", "grid:HOST:PORT/SLOT", "grid:HOST:PORT/FIRST-LAST", "grid:[::1]:PORT/SLOT".
  static CardSpec parse(std::string_view spec);
  bool is_range() const noexcept { return kind == Kind::Grid && last_slot != first_slot; }
  std::size_t count() const noexcept { return kind == Kind::Grid ? static_cast<std::size_t>(last_slot - first_slot + 1) : 1; }
  std::string grid_address() const;  // "HOST:PORT" ("[::1]:PORT")
  std::string describe() const;      // the spec in canonical form
};

// Opens the one card a spec names (a range is a usage error here: see batch.h).
std::unique_ptr<CardTransport> open_card(const CardSpec& spec);

// ISO 7816-4 transmission at the T=0 level for transports that pass status words through
// raw: 6Cxx (wrong Le; xx is the right one) repeats the command once with Le = xx, 61xx (xx
// more bytes) is followed by GET RESPONSE until the card has said everything (bounded). The
// caller sees one complete response. `raw` sends one APDU and returns what came back.
gp::Bytes transmit_complete(const std::function<gp::Bytes(gp::ByteView)>& raw, gp::ByteView command);

// Sends a command and parses the response (throws TsmError(CardData) if the card answered
// fewer than two bytes).
gp::ResponseApdu transmit_apdu(CardTransport& t, const gp::CommandApdu& command);
// The transport as gp's Transmit function (for gp::open_secure_channel / transmit_secure).
gp::Transmit as_transmit(CardTransport& t);

}  // namespace sekds::tsm
