#include "card/grid.h"

#include <algorithm>
#include <charconv>

#include "gp/error.h"

namespace sekds::card {

namespace {

std::string err(std::string_view code, std::string_view message) {
  std::string s = "ERR ";
  s += code;
  s += ' ';
  s += message;
  return s;
}

// Splits on runs of spaces (and tabs).
std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<int> parse_slot(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

Grid::Grid(std::vector<CardState> cards, CardStore* store, CardLimits limits) {
  std::sort(cards.begin(), cards.end(), [](const CardState& a, const CardState& b) { return a.slot < b.slot; });
  slots_.reserve(cards.size());
  for (auto& c : cards) {
    auto s = std::make_unique<Slot>();
    s->number = c.slot;
    s->card = std::make_unique<Card>(std::move(c), store, limits);
    slots_.push_back(std::move(s));
  }
}

Grid::~Grid() = default;

Grid::Slot* Grid::find(int number) noexcept {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), number,
                             [](const std::unique_ptr<Slot>& s, int n) { return s->number < n; });
  return it != slots_.end() && (*it)->number == number ? it->get() : nullptr;
}

std::string Grid::content() const {
  std::string out = "OK " + std::to_string(slots_.size());
  for (const auto& s : slots_) {
    out += ' ';
    out += std::to_string(s->number);
    out += s->owner.load(std::memory_order_acquire) == 0 ? ":free" : ":used";
  }
  return out;
}

Grid::Client::Client(Grid& grid) : grid_(grid), id_(grid.next_client_.fetch_add(1)) {}

Grid::Client::~Client() {
  for (Slot* s : held_) {
    std::lock_guard lock(s->m);
    s->card->reset();
    s->owner.store(0, std::memory_order_release);
  }
}

std::string Grid::Client::handle(std::string_view line) {
  try {
    return dispatch(line);
  } catch (const std::exception& e) {
    return err("INTERNAL", e.what());  // never a dead connection thread
  }
}

std::string Grid::Client::dispatch(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto w = words(line);
  if (w.empty()) return err("SYNTAX", "empty line");
  const std::string_view cmd = w[0];
  if (cmd == "CONTENT") {
    if (w.size() != 1) return err("SYNTAX", "CONTENT takes no argument");
    return grid_.content();
  }
  const bool is_apdu = cmd == "APDU";
  if (cmd != "USE" && cmd != "FREE" && cmd != "RESET" && !is_apdu) {
    std::string shown(cmd.substr(0, 32));
    for (auto& ch : shown)
      if (ch < 0x21 || ch > 0x7E) ch = '?';
    return err("UNKNOWN", "unknown command '" + shown + "' (CONTENT, USE, FREE, RESET, APDU)");
  }
  if (w.size() != (is_apdu ? 3u : 2u))
    return err("SYNTAX", std::string(cmd) + (is_apdu ? " takes a slot number and the APDU in hex" : " takes one slot number"));
  const auto number = parse_slot(w[1]);
  if (!number) return err("SLOT", "not a slot number");
  Slot* s = grid_.find(*number);
  if (s == nullptr) return err("SLOT", "no slot " + std::to_string(*number));
  if (cmd == "USE") return use(*s);
  if (cmd == "FREE") return free(*s);
  if (cmd == "RESET") return reset(*s);
  return apdu(*s, w[2]);
}

std::string Grid::Client::use(Slot& s) {
  std::uint64_t expected = 0;
  if (!s.owner.compare_exchange_strong(expected, id_, std::memory_order_acq_rel)) {
    if (expected == id_) return "OK";
    return err("BUSY", "slot " + std::to_string(s.number) + " is reserved by another client");
  }
  held_.push_back(&s);
  return "OK";
}

std::string Grid::Client::free(Slot& s) {
  if (s.owner.load(std::memory_order_acquire) != id_)
    return err("NOTRESERVED", "slot " + std::to_string(s.number) + " is not reserved by you");
  {
    std::lock_guard lock(s.m);
    s.card->reset();  // the next holder starts from a powered-up card, no session
  }
  held_.erase(std::remove(held_.begin(), held_.end(), &s), held_.end());
  s.owner.store(0, std::memory_order_release);
  return "OK";
}

std::string Grid::Client::reset(Slot& s) {
  if (s.owner.load(std::memory_order_acquire) != id_)
    return err("NOTRESERVED", "slot " + std::to_string(s.number) + " is not reserved by you");
  std::lock_guard lock(s.m);
  return "OK " + gp::to_hex(s.card->reset());
}

std::string Grid::Client::apdu(Slot& s, std::string_view hex) {
  if (s.owner.load(std::memory_order_acquire) != id_)
    return err("NOTRESERVED", "slot " + std::to_string(s.number) + " is not reserved by you");
  Bytes command;
  try {
    command = gp::from_hex(hex, "APDU");
  } catch (const gp::GpError& e) {
    return err("HEX", e.what());
  }
  std::lock_guard lock(s.m);
  return "OK " + gp::to_hex(s.card->transmit(command));
}

}  // namespace sekds::card
