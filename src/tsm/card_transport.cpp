#include "tsm/card_transport.h"

#include <charconv>

#include "gp/error.h"
#include "tsm/error.h"
#include "tsm/grid_transport.h"
#include "tsm/pcsc_transport.h"

namespace sekds::tsm {
namespace {

[[noreturn]] void bad_spec(std::string_view spec, const std::string& why) {
  throw TsmError(TsmErrc::Usage, "--card '" + std::string(spec) + "': " + why +
                                     " (expected pcsc:READER, grid:HOST:PORT/SLOT or grid:HOST:PORT/FIRST-LAST)");
}

bool parse_uint(std::string_view s, unsigned long max, unsigned long& out) {
  if (s.empty() || s.size() > 10) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out <= max;
}

}  // namespace

FunctionTransport::FunctionTransport(TransmitFn transmit, ResetFn reset, std::string description)
    : transmit_(std::move(transmit)), reset_(std::move(reset)), description_(std::move(description)) {}

CardSpec CardSpec::parse(std::string_view spec) {
  CardSpec c;
  if (spec.rfind("pcsc:", 0) == 0) {
    c.kind = Kind::Pcsc;
    c.reader = std::string(spec.substr(5));
    if (c.reader.empty()) bad_spec(spec, "no reader name after 'pcsc:'");
    return c;
  }
  if (spec.rfind("grid:", 0) != 0) bad_spec(spec, "unknown transport");
  c.kind = Kind::Grid;
  std::string_view rest = spec.substr(5);
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos) bad_spec(spec, "no '/SLOT' after the address");
  std::string_view addr = rest.substr(0, slash), slots = rest.substr(slash + 1);
  std::string_view host, port;
  if (!addr.empty() && addr.front() == '[') {
    const auto close = addr.find(']');
    if (close == std::string_view::npos || close + 1 >= addr.size() || addr[close + 1] != ':')
      bad_spec(spec, "an IPv6 address is written [ADDR]:PORT");
    host = addr.substr(1, close - 1);
    port = addr.substr(close + 2);
  } else {
    const auto colon = addr.rfind(':');
    if (colon == std::string_view::npos) bad_spec(spec, "no ':PORT' in the grid address");
    host = addr.substr(0, colon);
    port = addr.substr(colon + 1);
  }
  if (host.empty()) bad_spec(spec, "empty host");
  unsigned long p = 0;
  if (!parse_uint(port, 65535, p) || p == 0) bad_spec(spec, "port '" + std::string(port) + "' is not 1..65535");
  c.host = std::string(host);
  c.port = static_cast<std::uint16_t>(p);
  const auto dash = slots.find('-');
  unsigned long first = 0, last = 0;
  if (dash == std::string_view::npos) {
    if (!parse_uint(slots, 0x7FFFFFFF, first)) bad_spec(spec, "slot '" + std::string(slots) + "' is not a number");
    last = first;
  } else {
    if (!parse_uint(slots.substr(0, dash), 0x7FFFFFFF, first) || !parse_uint(slots.substr(dash + 1), 0x7FFFFFFF, last))
      bad_spec(spec, "slot range '" + std::string(slots) + "' is not FIRST-LAST");
    if (last < first) bad_spec(spec, "slot range '" + std::string(slots) + "' ends before it starts");
  }
  c.first_slot = static_cast<int>(first);
  c.last_slot = static_cast<int>(last);
  return c;
}

std::string CardSpec::grid_address() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string CardSpec::describe() const {
  if (kind == Kind::Pcsc) return "pcsc:" + reader;
  std::string s = "grid:" + grid_address() + "/" + std::to_string(first_slot);
  if (last_slot != first_slot) s += "-" + std::to_string(last_slot);
  return s;
}

std::unique_ptr<CardTransport> open_card(const CardSpec& spec) {
  if (spec.kind == CardSpec::Kind::Pcsc) return std::make_unique<PcscTransport>(spec.reader);
  if (spec.is_range())
    throw TsmError(TsmErrc::Usage, "--card " + spec.describe() + " names " + std::to_string(spec.count()) +
                                       " cards; this command works on one card (batch runs: keys, open, rotate, run)");
  auto conn = std::make_shared<GridConnection>(spec.host, spec.port);
  return std::make_unique<GridTransport>(std::move(conn), spec.first_slot);
}

gp::Bytes transmit_complete(const std::function<gp::Bytes(gp::ByteView)>& raw, gp::ByteView command) {
  gp::Bytes r = raw(command);
  if (r.size() == 2 && r[0] == 0x6C && command.size() >= 5) {
    // Le is the last byte of a short case 2/4 command.
    gp::Bytes again(command.begin(), command.end());
    again.back() = r[1];
    r = raw(again);
  }
  gp::Bytes data;
  for (int rounds = 0; r.size() >= 2 && r[r.size() - 2] == 0x61; ++rounds) {
    if (rounds >= 256)
      throw TsmError(TsmErrc::CardData, "the card answers 61xx without end (256 GET RESPONSE)", "SW_BYTES_REMAINING");
    data.insert(data.end(), r.begin(), r.end() - 2);
    const std::uint8_t channel = command.empty() ? 0x00 : static_cast<std::uint8_t>(command[0] & 0x03);
    const gp::Bytes get_response{channel, 0xC0, 0x00, 0x00, r[r.size() - 1]};
    r = raw(get_response);
  }
  if (!data.empty()) r.insert(r.begin(), data.begin(), data.end());
  return r;
}

gp::ResponseApdu transmit_apdu(CardTransport& t, const gp::CommandApdu& command) {
  const gp::Bytes raw = t.transmit(command.encode());
  if (raw.size() < 2)
    throw TsmError(TsmErrc::CardData, t.describe() + ": the card answered " + std::to_string(raw.size()) +
                                          " bytes, less than a status word");
  return gp::ResponseApdu::parse(raw);
}

gp::Transmit as_transmit(CardTransport& t) {
  return [&t](gp::ByteView cmd) { return t.transmit(cmd); };
}

}  // namespace sekds::tsm
