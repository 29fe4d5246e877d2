// Which [[ttp]] a card's URL picks (issue 19 item 9): scheme, host and port must be the same,
// the path prefix ends on a segment boundary. A raw string prefix sent the TSM's client
// certificate to look-alike hosts and other ports.
#include <boost/test/unit_test.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "tsm/config.h"
#include "tsm/error.h"
#include "tsm/ttp_key_source.h"
#include "tsm/ttp_url.h"

using namespace sekds;

namespace {

bool within(const std::string& url, const std::string& prefix) {
  return tsm::url_within(tsm::parse_ttp_url(url), tsm::parse_ttp_url(prefix));
}

std::string parse_error(const std::string& url) {
  try {
    tsm::parse_ttp_url(url);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  BOOST_FAIL("no error for " << url);
  return {};
}

std::vector<tsm::TtpEndpoint> endpoints(const std::vector<std::string>& prefixes) {
  std::vector<tsm::TtpEndpoint> out;
  for (const auto& p : prefixes) {
    tsm::TtpEndpoint e;
    e.url_prefix = p;
    out.push_back(e);
  }
  return out;
}

std::string config_error(const std::string& ttp_tables) {
  try {
    tsm::parse_config(ttp_tables, "/x/tsm.toml");
  } catch (const tsm::TsmError& e) {
    BOOST_TEST((e.code() == tsm::TsmErrc::Config));
    return e.what();
  }
  BOOST_FAIL("no error");
  return {};
}

std::string ttp(const std::string& url_prefix, const std::string& extra = {}) {
  return "[[ttp]]\nurl_prefix = \"" + url_prefix + "\"\ncertificate = \"a\"\nprivate_key = \"b\"\nca = \"c\"\n" + extra;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ttp_url)

BOOST_AUTO_TEST_CASE(parse_normalises_scheme_host_port_and_path) {
  const tsm::TtpUrl u = tsm::parse_ttp_url("HTTPS://TTP.Example.COM/Sekds/v1/?x=1");
  BOOST_TEST(u.scheme == "https");
  BOOST_TEST(u.host == "ttp.example.com");
  BOOST_TEST(u.port == 443);
  BOOST_TEST(u.path == "/Sekds/v1");  // paths stay case-sensitive
  BOOST_TEST(u.has_query);
  BOOST_TEST(tsm::parse_ttp_url("https://ttp.x").path == "");
  BOOST_TEST(tsm::parse_ttp_url("https://ttp.x/").path == "");
  BOOST_TEST(tsm::parse_ttp_url("https://ttp.x:8443").port == 8443);
  BOOST_TEST(tsm::parse_ttp_url("http://ttp.x").port == 80);
  BOOST_TEST(tsm::parse_ttp_url("https://[::1]:8443/a").host == "[::1]");
  BOOST_TEST(!tsm::parse_ttp_url("https://ttp.x/a").has_query);
}

BOOST_AUTO_TEST_CASE(parse_refuses_what_is_not_a_url_naming_why) {
  BOOST_TEST(parse_error("ttp.x/sekds").find("'ttp.x/sekds' is not a valid URL: no scheme") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x:99999/").find("port 99999 is outside 1-65535") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x:/").find("empty port") != std::string::npos);
  BOOST_TEST(parse_error("https://user@ttp.x/").find("user information") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x/a#b").find("fragment") != std::string::npos);
  BOOST_TEST(parse_error("ftp://ttp.x/").find("scheme must be https or http") != std::string::npos);
  BOOST_TEST(parse_error("https:///a").find("no host") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x/a/../b").find("path segment '..' is not allowed") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x/a/%2E%2e/b").find("path segment '%2E%2e'") != std::string::npos);
  BOOST_TEST(parse_error("https://ttp.x/./b").find("path segment '.'") != std::string::npos);
  // A URL from a card may hold anything: it is not quoted back when it is not printable.
  BOOST_TEST(parse_error(std::string("https://ttp.x/\x1b[2J")).find("the URL is not a valid URL") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(host_must_be_the_same_host_not_a_string_prefix_of_it) {
  BOOST_TEST(within("https://ttp.x/", "https://ttp.x"));
  BOOST_TEST(within("https://ttp.x/sekds/v1", "https://ttp.x"));
  BOOST_TEST(!within("https://ttp.x.evil/", "https://ttp.x"));
  BOOST_TEST(!within("https://ttp.x.evil/sekds/v1", "https://ttp.x"));
  BOOST_TEST(!within("https://ttp.xy/", "https://ttp.x"));
  BOOST_TEST(!within("https://ttp.x:444/", "https://ttp.x"));
  BOOST_TEST(!within("https://ttp.x:8443/", "https://ttp.x:844"));
  BOOST_TEST(!within("https://evil/ttp.x/", "https://ttp.x"));
  BOOST_TEST(!within("http://ttp.x/", "https://ttp.x"));
}

BOOST_AUTO_TEST_CASE(scheme_and_host_compare_case_insensitively_default_ports_are_equivalent) {
  BOOST_TEST(within("HTTPS://TTP.X/sekds", "https://ttp.x/sekds"));
  BOOST_TEST(within("https://ttp.x/sekds", "hTTps://Ttp.X/sekds"));
  BOOST_TEST(within("https://ttp.x:443/sekds", "https://ttp.x/"));
  BOOST_TEST(within("https://ttp.x/sekds", "https://ttp.x:443"));
  BOOST_TEST(!within("https://ttp.x:80/", "https://ttp.x/"));
  BOOST_TEST(!within("https://ttp.x/SEKDS", "https://ttp.x/sekds"));  // the path is case-sensitive
}

BOOST_AUTO_TEST_CASE(path_prefix_matches_on_a_segment_boundary) {
  BOOST_TEST(within("https://ttp.x/a", "https://ttp.x/a"));
  BOOST_TEST(within("https://ttp.x/a/", "https://ttp.x/a"));
  BOOST_TEST(within("https://ttp.x/a/b", "https://ttp.x/a"));
  BOOST_TEST(within("https://ttp.x/a/b", "https://ttp.x/a/"));
  BOOST_TEST(within("https://ttp.x/a?x=1", "https://ttp.x/a"));
  BOOST_TEST(!within("https://ttp.x/ab", "https://ttp.x/a"));
  BOOST_TEST(!within("https://ttp.x/ab", "https://ttp.x/a/"));
  BOOST_TEST(!within("https://ttp.x/", "https://ttp.x/a"));
  BOOST_TEST(!within("https://ttp.x/b/a", "https://ttp.x/a"));
}

BOOST_AUTO_TEST_CASE(match_endpoint_picks_the_longest_path_on_the_same_host) {
  const auto e = endpoints({"https://ttp.x", "https://ttp.x/sekds", "https://ttp.x:8443/", "https://ttp.xy/"});
  BOOST_TEST(tsm::match_endpoint(e, "https://ttp.x/sekds/v1") == &e[1]);
  BOOST_TEST(tsm::match_endpoint(e, "https://TTP.X:443/sekds") == &e[1]);
  BOOST_TEST(tsm::match_endpoint(e, "https://ttp.x/sekdsv1") == &e[0]);
  BOOST_TEST(tsm::match_endpoint(e, "https://ttp.x:8443/sekds/v1") == &e[2]);
  BOOST_TEST(tsm::match_endpoint(e, "https://ttp.xy/sekds/v1") == &e[3]);
  BOOST_TEST(!tsm::match_endpoint(e, "https://ttp.x.evil/sekds/v1"));
  BOOST_TEST(!tsm::match_endpoint(e, "https://ttp.x:444/sekds/v1"));
  BOOST_TEST(!tsm::match_endpoint(e, "https://ttp.x/sekds/../admin"));  // does not parse: no TTP
  BOOST_TEST(!tsm::match_endpoint(e, "not a url"));
  // An entry built in code with a prefix that does not parse is a configuration error.
  BOOST_CHECK_THROW(tsm::match_endpoint(endpoints({"ttp.x"}), "https://ttp.x/"), tsm::TsmError);
}

BOOST_AUTO_TEST_CASE(config_refuses_invalid_urls_naming_the_key) {
  BOOST_TEST(config_error(ttp("https://ttp.x:0/")).find("/x/tsm.toml: ttp[0].url_prefix: 'https://ttp.x:0/' is not a valid URL: port 0") !=
             std::string::npos);
  BOOST_TEST(config_error(ttp("https//ttp.x/")).find("ttp[0].url_prefix: 'https//ttp.x/' is not a valid URL: no scheme") !=
             std::string::npos);
  BOOST_TEST(config_error(ttp("https://user@ttp.x/")).find("ttp[0].url_prefix:") != std::string::npos);
  BOOST_TEST(config_error(ttp("https://ttp.x/?a=1")).find("ttp[0].url_prefix: must not have a query") != std::string::npos);
  BOOST_TEST(config_error(ttp("http://ttp.x/")).find("ttp[0].url_prefix: must start with https://") != std::string::npos);
  BOOST_TEST(config_error(ttp("https://ttp.x/", "endpoint = \"https://ttp.x:70000/\"\n"))
                 .find("ttp[0].endpoint: 'https://ttp.x:70000/' is not a valid URL") != std::string::npos);
  BOOST_TEST(config_error(ttp("https://ttp.x/", "endpoint = \"http://ttp.x/\"\n")).find("ttp[0].endpoint: must start with https://") !=
             std::string::npos);
  // The same place twice: which certificate is used must not depend on the order of the entries.
  BOOST_TEST(config_error(ttp("https://ttp.x/sekds") + ttp("HTTPS://TTP.X:443/sekds/"))
                 .find("ttp[1].url_prefix: names the same scheme, host, port and path as ttp[0].url_prefix") != std::string::npos);
  // What is valid parses.
  const tsm::TsmConfig c = tsm::parse_config(ttp("https://ttp.x/sekds") + ttp("https://ttp.x/sekds/v2"), "/x/tsm.toml");
  BOOST_TEST(c.ttp.endpoints.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
