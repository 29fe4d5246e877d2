#include "store/time.h"

#include <cstdio>

namespace sekds::store {

using namespace std::chrono;

Timestamp now_utc() { return time_point_cast<milliseconds>(system_clock::now()); }

std::string format_timestamp(Timestamp t) {
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

namespace {

// Reads exactly `n` digits at `pos`; advances pos.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Timestamp> parse_timestamp(std::string_view s) {
  std::size_t pos = 0;
  auto y = digits(s, pos, 4);
  if (!y || !expect(s, pos, '-')) return std::nullopt;
  auto mo = digits(s, pos, 2);
  if (!mo || !expect(s, pos, '-')) return std::nullopt;
  auto d = digits(s, pos, 2);
  if (!d) return std::nullopt;
  const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  int h = 0, mi = 0, sec = 0, ms = 0;
  if (pos < s.size() && s[pos] != 'Z') {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    ++pos;
    auto hh = digits(s, pos, 2);
    if (!hh || !expect(s, pos, ':')) return std::nullopt;
    auto mm = digits(s, pos, 2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (expect(s, pos, ':')) {
      auto ss = digits(s, pos, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (expect(s, pos, '.')) {
        auto f = digits(s, pos, 3);
        if (!f) return std::nullopt;
        ms = *f;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) return std::nullopt;
  }
  expect(s, pos, 'Z');
  if (pos != s.size()) return std::nullopt;
  return Timestamp{sys_days{ymd}} + hours{h} + minutes{mi} + seconds{sec} + milliseconds{ms};
}

}  // namespace sekds::store
