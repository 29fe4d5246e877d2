// The request guard on its own: byte streams, split anywhere.
#include <boost/test/unit_test.hpp>

#include <string>

#include "service/request_guard.h"

using sekds::service::RequestGuard;
using V = RequestGuard::Violation;

namespace {

// Feeds `doc` in pieces of `step` bytes.
V feed_in_pieces(RequestGuard& g, const std::string& doc, std::size_t step) {
  V v = V::None;
  for (std::size_t i = 0; i < doc.size(); i += step) v = g.feed(std::string_view(doc).substr(i, step));
  return v;
}

V check(const std::string& doc, std::size_t max_bytes = 65536, unsigned depth = 8) {
  // Every split must give the same answer as the whole.
  V whole;
  {
    RequestGuard g(max_bytes, depth);
    whole = g.feed(doc);
  }
  for (std::size_t step : {1, 2, 3, 7}) {
    RequestGuard g(max_bytes, depth);
    BOOST_TEST((feed_in_pieces(g, doc, step) == whole), "split " << step << " of " << doc);
  }
  return whole;
}

const std::string kPing =
    "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"x\"><soap:Body><s:WSPing a='1' b=\"2\">"
    "<s:Message>a&amp;b&lt;&#65;&#x42;<![CDATA[<not><a><tag>&bogus;]]><!-- <!DOCTYPE in a comment --></s:Message>"
    "<s:Empty/></s:WSPing></soap:Body></soap:Envelope>";

}  // namespace

BOOST_AUTO_TEST_SUITE(request_guard)

BOOST_AUTO_TEST_CASE(ordinary_document_passes) {
  BOOST_TEST((check(kPing) == V::None));
  RequestGuard g(65536, 8);
  g.feed(kPing);
  BOOST_TEST(g.depth() == 0u);
  BOOST_TEST(g.bytes() == kPing.size());
}

BOOST_AUTO_TEST_CASE(dtd_is_refused) {
  BOOST_TEST((check("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>") == V::Dtd));
  BOOST_TEST((check("<x><!ENTITY a \"b\"></x>") == V::Dtd));
  BOOST_TEST((check("<x><!ELEMENT a ANY></x>") == V::Dtd));
  BOOST_TEST((check("<x><![CDAT") == V::None));  // incomplete so far, not yet a violation
  BOOST_TEST((check("<x><![CDATX") == V::Dtd));
}

BOOST_AUTO_TEST_CASE(undeclared_entities_are_refused) {
  BOOST_TEST((check("<x>&xxe;</x>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x a=\"&lol;\"/>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x>&#;</x>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x>&#x;</x>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x>&#12a;</x>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x>&averyveryverylongname;</x>") == V::UndeclaredEntity));
  BOOST_TEST((check("<x>&quot;&apos;&gt;</x>") == V::None));
}

BOOST_AUTO_TEST_CASE(depth_is_capped) {
  std::string ok, deep;
  for (int i = 0; i < 8; ++i) ok += "<a>";
  for (int i = 0; i < 8; ++i) ok += "</a>";
  for (int i = 0; i < 9; ++i) deep += "<a>";
  BOOST_TEST((check(ok) == V::None));
  BOOST_TEST((check(deep) == V::TooDeep));
  // empty elements and end tags give the level back; '/' and '>' inside values do not count
  std::string flat;
  for (int i = 0; i < 100; ++i) flat += "<a x=\"/>\" y='>'/><b></b>";
  BOOST_TEST((check("<r>" + flat + "</r>") == V::None));
}

BOOST_AUTO_TEST_CASE(size_is_capped) {
  std::string doc = "<x>" + std::string(100, 'a') + "</x>";
  BOOST_TEST((check(doc, doc.size()) == V::None));
  RequestGuard g(doc.size() - 1, 8);
  BOOST_TEST((g.feed(doc) == V::Oversize));
  RequestGuard pieces(50, 8);
  BOOST_TEST((feed_in_pieces(pieces, doc, 10) == V::Oversize));
  BOOST_TEST(pieces.bytes() <= 60u);  // stops counting at the first excess piece
}

BOOST_AUTO_TEST_CASE(body_ending_before_the_document_is_truncated) {
  std::string doc = "<x><y>hi</y></x>";
  for (std::size_t cut : {std::size_t{1}, std::size_t{5}, doc.size() - 1}) {
    std::string part = doc.substr(0, cut);
    RequestGuard g(65536, 8);
    g.expect_length(part.size());
    BOOST_TEST((feed_in_pieces(g, part, 3) == V::Truncated), cut);
  }
  RequestGuard whole(65536, 8);
  whole.expect_length(doc.size() + 2);
  BOOST_TEST((whole.feed(doc + "\r\n") == V::None));
  // bytes beyond the declared length (a pipelined request) are not looked at
  RequestGuard pipelined(65536, 8);
  pipelined.expect_length(doc.size());
  BOOST_TEST((pipelined.feed(doc + "<!DOCTYPE next request>") == V::None));
}

BOOST_AUTO_TEST_CASE(first_violation_sticks_and_reset_forgets) {
  RequestGuard g(65536, 8);
  BOOST_TEST((g.feed("<x>&bad;") == V::UndeclaredEntity));
  BOOST_TEST((g.feed("<!DOCTYPE y>") == V::UndeclaredEntity));
  g.reset();
  BOOST_TEST((g.violation() == V::None));
  BOOST_TEST((g.feed(kPing) == V::None));
  BOOST_TEST(std::string(RequestGuard::name(V::Dtd)) == "dtd");
}

BOOST_AUTO_TEST_SUITE_END()
