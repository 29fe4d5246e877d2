#include "tsm/ttp_url.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "gp/data_objects.h"
#include "gp/error.h"

namespace sekds::tsm {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A segment that a server resolves as "." or "..", "%2e" spelled in either case included.
bool dot_segment(std::string_view seg) {
  std::string decoded;
  for (std::size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '%' && i + 2 < seg.size() && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
      decoded += '.';
      i += 2;
    } else {
      decoded += seg[i];
    }
  }
  return decoded == "." || decoded == "..";
}

// The URL as an error message may quote it: not when it is too long or not printable (it
// may come from a card).
std::string quoted(std::string_view text) {
  const bool printable =
      std::all_of(text.begin(), text.end(), [](unsigned char c) { return c >= 0x20 && c < 0x7F; });
  if (!printable || text.size() > gp::SdManagerUrl::kMaxLength) return "the URL";
  return "'" + std::string(text) + "'";
}

}  // namespace

TtpUrl parse_ttp_url(std::string_view text) {
  gp::SdManagerUrl u;
  try {
    u = gp::SdManagerUrl::from_string(text);
  } catch (const gp::GpError& e) {
    // gp names the data object ('5F50'); here the URL may come from a configuration file.
    std::string why = e.what();
    if (const std::string tag = "URL ('5F50'): "; why.rfind(tag, 0) == 0) why.erase(0, tag.size());
    throw std::invalid_argument(quoted(text) + " is not a valid URL: " + why);
  }
  TtpUrl r;
  r.scheme = u.scheme();
  r.host = lower(u.host());
  r.port = u.effective_port();
  std::string_view path = u.path();
  if (const auto q = path.find('?'); q != std::string_view::npos) {
    r.has_query = true;
    path = path.substr(0, q);
  }
  for (std::size_t start = 1; start <= path.size();) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    if (dot_segment(path.substr(start, end - start)))
      throw std::invalid_argument(quoted(text) + " is not a valid URL: path segment '" +
                                  std::string(path.substr(start, end - start)) + "' is not allowed");
    start = end + 1;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  r.path = std::string(path);
  return r;
}

bool url_within(const TtpUrl& url, const TtpUrl& prefix) noexcept {
  if (url.scheme != prefix.scheme || url.host != prefix.host || url.port != prefix.port) return false;
  if (url.path.size() < prefix.path.size() || url.path.compare(0, prefix.path.size(), prefix.path) != 0) return false;
  return url.path.size() == prefix.path.size() || url.path[prefix.path.size()] == '/';
}

}  // namespace sekds::tsm
