// The TTP a card's URL ('5F50') names, compared the way a TLS client connects: scheme, host
// and port first, then the path. A raw string prefix is not enough: "https://ttp.x" would
// hand the TSM's client certificate to https://ttp.x.evil/, https://ttp.x:444/ and
// https://ttp.xy/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sekds::tsm {

struct TtpUrl {
  std::string scheme;       // lower case
  std::string host;         // lower case; "[::1]" for IPv6
  std::uint16_t port = 0;   // explicit or the scheme's default (https 443, http 80)
  std::string path;         // without the query and trailing '/'; "" is the root
  bool has_query = false;
};

// Parses an absolute http(s) URL with gp::SdManagerUrl's rules (no user information, no
// fragment, port 1-65535) and normalises it. Also refuses "." and ".." path segments (also
// percent-encoded): a server would resolve them to another path than the one matched.
// Throws std::invalid_argument naming what is wrong.
TtpUrl parse_ttp_url(std::string_view url);

// True when `url` is at or below `prefix`: same scheme, host and port, and the prefix's path
// is the whole path or ends on a segment boundary ("/a" matches "/a" and "/a/b", not "/ab").
bool url_within(const TtpUrl& url, const TtpUrl& prefix) noexcept;

}  // namespace sekds::tsm
