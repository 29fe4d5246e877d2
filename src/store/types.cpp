#include "store/types.h"

#include <array>

namespace sekds::store {

namespace {

template <class E, std::size_t N>
std::optional<E> parse_name(std::string_view s, const std::array<E, N>& all, const char* (*name)(E) noexcept) {
  for (E e : all) {
    if (s == name(e)) return e;
  }
  return std::nullopt;
}

}  // namespace

const char* key_set_state_name(KeySetState s) noexcept {
  switch (s) {
    case KeySetState::Active: return "active";
    case KeySetState::Disabled: return "disabled";
  }
  return "?";
}

std::optional<KeySetState> parse_key_set_state(std::string_view s) noexcept {
  return parse_name(s, std::array{KeySetState::Active, KeySetState::Disabled}, key_set_state_name);
}

const char* tsm_state_name(TsmState s) noexcept {
  switch (s) {
    case TsmState::Accredited: return "accredited";
    case TsmState::Revoked: return "revoked";
  }
  return "?";
}

std::optional<TsmState> parse_tsm_state(std::string_view s) noexcept {
  return parse_name(s, std::array{TsmState::Accredited, TsmState::Revoked}, tsm_state_name);
}

const char* kek_state_name(KekState s) noexcept {
  switch (s) {
    case KekState::Pending: return "pending";
    case KekState::Active: return "active";
    case KekState::Retired: return "retired";
  }
  return "?";
}

std::optional<KekState> parse_kek_state(std::string_view s) noexcept {
  return parse_name(s, std::array{KekState::Pending, KekState::Active, KekState::Retired}, kek_state_name);
}

bool kek_transition_allowed(KekState from, KekState to) noexcept {
  return (from == KekState::Pending && to == KekState::Active) || (from == KekState::Active && to == KekState::Retired);
}

const char* counter_anomaly_name(CounterAnomaly a) noexcept {
  switch (a) {
    case CounterAnomaly::None: return "none";
    case CounterAnomaly::Repeated: return "repeated";
    case CounterAnomaly::Backwards: return "backwards";
  }
  return "?";
}

gp::DiversificationScheme KeySet::scheme() const {
  gp::DiversificationScheme s = gp::DiversificationScheme::of(spec.method);
  if (!spec.kdf_layout.empty()) {
    s.layout = gp::KdfLayout::parse(spec.kdf_layout, spec.kdf_constants.empty() ? "01,02,03" : spec.kdf_constants);
  }
  return s;
}

bool Kek::usable_at(Timestamp at) const {
  if (state != KekState::Active) return false;
  if (spec.valid_from && at < *spec.valid_from) return false;
  if (spec.valid_until && at >= *spec.valid_until) return false;
  return true;
}

}  // namespace sekds::store
