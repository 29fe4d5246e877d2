// BER-TLV: multi-byte tags, long lengths, constructed objects, and every malformed input
// giving its named error at the right offset (never a crash).
#include <boost/test/unit_test.hpp>

#include <functional>
#include <optional>
#include <random>

#include "gp/error.h"
#include "gp/tlv.h"

using namespace sekds;
using gp::Bytes;
using gp::Errc;
using gp::from_hex;
using gp::to_hex;

namespace {

// Runs f, which must throw GpError with `code` at `offset`.
void expect_error(const std::function<void()>& f, Errc code, std::optional<std::size_t> offset, const std::string& ctx) {
  try {
    f();
    BOOST_ERROR(ctx << ": no error, expected " << gp::errc_name(code));
  } catch (const gp::GpError& e) {
    BOOST_TEST(std::string(e.name()) == gp::errc_name(code), ctx << ": " << e.what());
    if (offset) {
      BOOST_TEST(e.offset().has_value(), ctx << ": no offset in " << e.what());
      if (e.offset()) BOOST_TEST(*e.offset() == *offset, ctx << ": " << e.what());
    }
  }
}

void expect_parse_error(const std::string& hex, Errc code, std::size_t offset, gp::TlvParseOptions opt = {}) {
  const Bytes b = from_hex(hex);
  expect_error([&] { gp::parse_tlv_list(b, opt); }, code, offset, "list " + hex);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tlv)

BOOST_AUTO_TEST_CASE(tag_forms) {
  BOOST_TEST(gp::tag_size(0x5A) == 1u);
  BOOST_TEST(gp::tag_size(0x9F7F) == 2u);
  BOOST_TEST(gp::tag_size(0x5F50) == 2u);
  BOOST_TEST(gp::tag_size(0xBF0C) == 2u);
  BOOST_TEST(gp::tag_size(0xDF8101) == 3u);
  BOOST_TEST(gp::tag_size(0x1F) == 0u);        // announces more bytes
  BOOST_TEST(gp::tag_size(0x9F02) == 2u);      // EMV style: below '1F' is accepted
  BOOST_TEST(gp::tag_size(0x9F8001) == 0u);    // leading zero bits
  BOOST_TEST(gp::tag_size(0x9F81) == 0u);      // would need a third byte
  BOOST_TEST(gp::tag_size(0xDF818101) == 0u);  // 4 bytes
  BOOST_TEST(gp::tag_size(0x00) == 0u);
  BOOST_TEST(gp::tag_size(0xFF20) == 0u);      // 'FF' never starts a tag
  BOOST_TEST(gp::tag_is_constructed(0xE0));
  BOOST_TEST(gp::tag_is_constructed(0xBF0C));
  BOOST_TEST(gp::tag_is_constructed(0x73));
  BOOST_TEST(!gp::tag_is_constructed(0x9F7F));
  BOOST_TEST(!gp::tag_is_constructed(0x5F50));
  BOOST_TEST(!gp::tag_is_constructed(0xC0));
  BOOST_TEST(gp::tag_hex(0x9F7F) == "9F7F");
  BOOST_TEST(gp::tag_hex(0xE0) == "E0");
}

BOOST_AUTO_TEST_CASE(multi_byte_tags_parse) {
  auto list = gp::parse_tlv_list(from_hex("9F7F 02 AABB 5F50 01 68 DF8101 00 BF0C 03 5A0111"));
  BOOST_REQUIRE(list.size() == 4u);
  BOOST_TEST(list[0].tag == 0x9F7Fu);
  BOOST_TEST(to_hex(list[0].value) == "AABB");
  BOOST_TEST(list[0].offset == 0u);
  BOOST_TEST(list[0].header_size == 3u);
  BOOST_TEST(list[1].tag == 0x5F50u);
  BOOST_TEST(list[1].offset == 5u);
  BOOST_TEST(list[2].tag == 0xDF8101u);
  BOOST_TEST(list[2].value.empty());
  BOOST_TEST(list[3].tag == 0xBF0Cu);
  BOOST_REQUIRE(list[3].children.size() == 1u);
  BOOST_TEST(list[3].children[0].tag == 0x5Au);
  BOOST_TEST(list[3].children[0].offset == 16u);
  BOOST_TEST(list[3].children[0].value_offset() == 18u);
}

BOOST_AUTO_TEST_CASE(long_form_lengths) {
  for (std::size_t n : {0u, 1u, 0x7Fu, 0x80u, 0xFFu, 0x100u, 0xFFFFu, 0x10000u, 0x12345u}) {
    Bytes v(n, 0xA5);
    Bytes enc = gp::encode_tlv(0x9F7F, v);
    const std::size_t len_bytes = n < 0x80 ? 1 : n <= 0xFF ? 2 : n <= 0xFFFF ? 3 : 4;
    BOOST_TEST(enc.size() == 2 + len_bytes + n, "n=" << n);
    if (n >= 0x80) BOOST_TEST(enc[2] == static_cast<std::uint8_t>(0x80 + len_bytes - 1), "n=" << n);
    gp::Tlv t = gp::parse_tlv(enc, {.skip_padding = false, .reject_non_minimal_length = true, .max_depth = 16});
    BOOST_TEST(t.value.size() == n);
    BOOST_TEST(t.header_size == 2 + len_bytes);
  }
  BOOST_TEST(to_hex(gp::encode_length(0x7F)) == "7F");
  BOOST_TEST(to_hex(gp::encode_length(0x80)) == "8180");
  BOOST_TEST(to_hex(gp::encode_length(0x100)) == "820100");
  BOOST_TEST(to_hex(gp::encode_length(0xFFFFFF)) == "83FFFFFF");
  expect_error([] { gp::encode_length(0x1000000); }, Errc::InvalidArgument, std::nullopt, "length 2^24");
}

BOOST_AUTO_TEST_CASE(constructed_objects_parse_recursively) {
  // E0 { C0 {..}, A5 { 9F65 {..}, BF0C { 61 { 4F {..} } } } }
  const Bytes b = from_hex("E0 18 C0 02 0102 A5 12 9F65 01 FF BF0C 0B 61 09 4F 07 A0000000031010");
  gp::Tlv t = gp::parse_tlv(b);
  BOOST_TEST(t.is_constructed());
  BOOST_REQUIRE(t.children.size() == 2u);
  BOOST_TEST(t.children[0].tag == 0xC0u);
  BOOST_TEST(t.children[0].children.empty());  // primitive: not parsed further
  const std::vector<gp::Tlv> top{t};
  const gp::Tlv* aid = gp::find_tlv(top, 0x4F, gp::TlvSearch::Recursive);
  BOOST_REQUIRE(aid != nullptr);
  BOOST_TEST(to_hex(aid->value) == "A0000000031010");
  BOOST_TEST(aid->offset == 17u);
  BOOST_TEST(gp::find_tlv(t.children, 0x4F) == nullptr);  // not a direct child
  BOOST_TEST(t.find(0xA5) != nullptr);
  BOOST_TEST(t.require(0xA5).require(0xBF0C).require(0x61).children.size() == 1u);
  expect_error([&] { t.require(0x5F50); }, Errc::TlvBadTag, 0, "require missing");
  // the re-encoding is byte-identical
  BOOST_TEST(to_hex(t.encode()) == to_hex(b));
}

BOOST_AUTO_TEST_CASE(find_first_and_all) {
  auto list = gp::parse_tlv_list(from_hex("C0 01 01 E0 06 C0 01 02 C0 01 03 C0 01 04"));
  BOOST_TEST(gp::find_all_tlv(list, 0xC0).size() == 2u);
  auto all = gp::find_all_tlv(list, 0xC0, gp::TlvSearch::Recursive);
  BOOST_REQUIRE(all.size() == 4u);
  std::string order;
  for (auto* x : all) order += to_hex(x->value);
  BOOST_TEST(order == "01020304");  // depth-first, pre-order
  BOOST_TEST(to_hex(gp::find_tlv(list, 0xC0)->value) == "01");
  BOOST_TEST(list[1].find_all(0xC0).size() == 2u);
}

BOOST_AUTO_TEST_CASE(empty_and_zero_length) {
  BOOST_TEST(gp::parse_tlv_list({}).empty());
  gp::Tlv t = gp::parse_tlv(from_hex("E000"));
  BOOST_TEST(t.children.empty());
  BOOST_TEST(t.value.empty());
  expect_error([] { gp::parse_tlv({}); }, Errc::TlvTruncated, 0, "parse_tlv of nothing");
}

BOOST_AUTO_TEST_CASE(tag_errors) {
  expect_parse_error("9F", Errc::TlvTruncated, 0);
  expect_parse_error("DF81", Errc::TlvTruncated, 0);
  expect_parse_error("DF818101 00", Errc::TlvBadTag, 0);  // 4-byte tag
  expect_parse_error("5A00 DF81818101 00", Errc::TlvBadTag, 2);
  expect_parse_error("9F80 01 00", Errc::TlvBadTag, 0);  // leading zero bits in the tag number
  expect_parse_error("9F8001 00", Errc::TlvBadTag, 0);
  expect_parse_error("00 5A00", Errc::TlvBadTag, 0);
  expect_parse_error("5A00 FF", Errc::TlvBadTag, 2);
  // inside a parent, a cut tag is the parent's impossible length
  expect_parse_error("E0 01 9F", Errc::TlvBadLength, 2);
}

BOOST_AUTO_TEST_CASE(length_errors) {
  expect_parse_error("5A", Errc::TlvTruncated, 1);                   // no length
  expect_parse_error("5A 80 00 00", Errc::TlvBadLength, 1);          // indefinite
  expect_parse_error("5A 84 00000001 00", Errc::TlvBadLength, 1);    // 4 length bytes
  expect_parse_error("5A FF", Errc::TlvBadLength, 1);
  expect_parse_error("5A 82 01", Errc::TlvTruncated, 1);             // length field cut
  expect_parse_error("5A 05 0102", Errc::TlvTruncated, 1);           // value runs past the end
  expect_parse_error("9F7F 83 FFFFFF 00", Errc::TlvTruncated, 2);    // impossible for this buffer
  expect_parse_error("5A01AA 5B 03 01", Errc::TlvTruncated, 4);      // second object
  expect_parse_error("E0 04 C0 05 0102", Errc::TlvBadLength, 3);     // child runs past its parent
  expect_parse_error("E0 05 C0 01 01 C0 82", Errc::TlvBadLength, 6);
  expect_parse_error("E0 03 C0 80 00", Errc::TlvBadLength, 3);
  // non-minimal lengths: legal BER, refused on request
  BOOST_TEST(gp::parse_tlv(from_hex("5A 81 03 010203")).value.size() == 3u);
  BOOST_TEST(gp::parse_tlv(from_hex("5A 82 0003 010203")).value.size() == 3u);
  gp::TlvParseOptions strict;
  strict.reject_non_minimal_length = true;
  expect_parse_error("5A 81 03 010203", Errc::TlvBadLength, 1, strict);
  expect_parse_error("5A 82 0080" + std::string(256, '0'), Errc::TlvBadLength, 1, strict);
}

BOOST_AUTO_TEST_CASE(trailing_bytes) {
  expect_error([] { gp::parse_tlv(from_hex("5A0100 FF")); }, Errc::TlvTrailingData, 3, "one object then FF");
  expect_error([] { gp::parse_tlv(from_hex("5A0100 5A0100")); }, Errc::TlvTrailingData, 3, "two objects");
  BOOST_TEST(gp::parse_tlv_list(from_hex("5A0100 5A0100")).size() == 2u);
}

BOOST_AUTO_TEST_CASE(padding_only_on_request) {
  const Bytes b = from_hex("00 FF 5A0101 0000 E0 05 FF C0 01 02 00 FF");
  expect_error([&] { gp::parse_tlv_list(b); }, Errc::TlvBadTag, 0, "padding without the option");
  gp::TlvParseOptions pad;
  pad.skip_padding = true;
  auto list = gp::parse_tlv_list(b, pad);
  BOOST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0].offset == 2u);
  BOOST_REQUIRE(list[1].children.size() == 1u);
  BOOST_TEST(to_hex(list[1].children[0].value) == "02");
  BOOST_TEST(gp::parse_tlv(from_hex("00 5A0101 FFFF"), pad).tag == 0x5Au);
  BOOST_TEST(gp::parse_tlv_list(from_hex("0000FF"), pad).empty());
}

BOOST_AUTO_TEST_CASE(nesting_is_bounded) {
  Bytes b = gp::encode_tlv(0x5A, Bytes{1});
  for (int i = 0; i < 40; ++i) b = gp::encode_tlv(0xE0, b);
  expect_error([&] { gp::parse_tlv(b); }, Errc::Unsupported, std::nullopt, "40 levels");
  gp::TlvParseOptions deep;
  deep.max_depth = 64;
  BOOST_TEST(gp::parse_tlv(b, deep).tag == 0xE0u);
}

BOOST_AUTO_TEST_CASE(every_prefix_is_truncated) {
  // a valid object with long-form lengths at two levels
  Bytes inner = gp::encode_tlv(0x9F7F, Bytes(200, 0x11));
  Bytes obj = gp::encode_tlv(0xBF0C, gp::concat({inner, gp::encode_tlv(0x5F50, Bytes(3, 0x68))}));
  BOOST_REQUIRE(gp::parse_tlv(obj).children.size() == 2u);
  for (std::size_t k = 0; k < obj.size(); ++k) {
    gp::ByteView prefix(obj.data(), k);
    expect_error([&] { gp::parse_tlv(prefix); }, Errc::TlvTruncated, std::nullopt, "prefix of " + std::to_string(k));
  }
}

BOOST_AUTO_TEST_CASE(encode_rejects_invalid_tags) {
  for (gp::Tag t : {0x00u, 0x1Fu, 0x9F80u, 0x9F81u, 0x9F8001u, 0xDF818101u, 0xFFu, 0x5F8Au})
    expect_error([t] { gp::encode_tag(t); }, Errc::InvalidArgument, std::nullopt, "tag " + gp::tag_hex(t));
  expect_error([] { gp::Tlv::constructed(0x5A, {}); }, Errc::InvalidArgument, std::nullopt, "primitive parent");
  BOOST_TEST(to_hex(gp::encode_tag(0xDF8101)) == "DF8101");
}

BOOST_AUTO_TEST_CASE(build_and_round_trip) {
  auto e0 = gp::Tlv::constructed(0xE0, {gp::Tlv::primitive(0xC0, from_hex("01018010")),
                                         gp::Tlv::primitive(0xC0, from_hex("02018010"))});
  BOOST_TEST(to_hex(e0.encode()) == "E00CC00401018010C00402018010");
  BOOST_TEST((gp::parse_tlv(e0.encode()) == e0));
  BOOST_TEST(to_hex(gp::encode_tlv_list({e0, gp::Tlv::primitive(0x9F7F, {})})) == "E00CC00401018010C004020180109F7F00");
}

BOOST_AUTO_TEST_CASE(random_trees_round_trip) {
  std::mt19937 gen(20261126);
  auto rng = [&gen] { return static_cast<unsigned>(gen()); };
  const gp::Tag prim[] = {0x5A, 0x9F7F, 0x5F50, 0xC0, 0xDF8101, 0x42};
  const gp::Tag cons[] = {0xE0, 0xBF0C, 0x73, 0x66, 0xBF20, 0x7F49};
  std::function<gp::Tlv(int)> make = [&](int depth) -> gp::Tlv {
    if (depth > 3 || rng() % 3 == 0) {
      Bytes v(rng() % 300);
      for (auto& x : v) x = static_cast<std::uint8_t>(rng());
      return gp::Tlv::primitive(prim[rng() % 6], v);
    }
    std::vector<gp::Tlv> kids;
    for (unsigned i = rng() % 4; i > 0; --i) kids.push_back(make(depth + 1));
    return gp::Tlv::constructed(cons[rng() % 6], kids);
  };
  for (int i = 0; i < 200; ++i) {
    std::vector<gp::Tlv> list;
    for (unsigned n = 1 + rng() % 3; n > 0; --n) list.push_back(make(0));
    Bytes enc = gp::encode_tlv_list(list);
    BOOST_TEST((gp::parse_tlv_list(enc) == list), "tree " << i);
    BOOST_TEST(to_hex(gp::encode_tlv_list(gp::parse_tlv_list(enc))) == to_hex(enc));
  }
}

BOOST_AUTO_TEST_CASE(random_bytes_never_crash) {
  std::mt19937 gen(7816);
  auto rng = [&gen] { return static_cast<unsigned>(gen()); };
  int ok = 0, errors = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 40);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng() % 4 == 0 ? 0xE0 : rng());
    try {
      gp::parse_tlv_list(b);
      ++ok;
    } catch (const gp::GpError& e) {
      ++errors;
      BOOST_TEST(e.offset().has_value());
      if (e.offset()) BOOST_TEST(*e.offset() <= b.size());
    }
  }
  BOOST_TEST(ok > 0);
  BOOST_TEST(errors > 0);
}

BOOST_AUTO_TEST_CASE(strip_outer_tag_both_forms) {
  BOOST_TEST(to_hex(gp::strip_outer_tag(0x5F50, from_hex("5F50 03 616263"))) == "616263");
  BOOST_TEST(to_hex(gp::strip_outer_tag(0x5F50, from_hex("616263"))) == "616263");
  expect_error([] { gp::strip_outer_tag(0x5F50, from_hex("5F50 05 6162")); }, Errc::TlvTruncated, 2, "cut");
  expect_error([] { gp::strip_outer_tag(0x5F50, from_hex("5F50 01 61 00")); }, Errc::TlvTrailingData, 4, "trailing");
  BOOST_TEST(to_hex(gp::strip_outer_tag(0x42, from_hex("42 05 01"), true)) == "420501");
}

BOOST_AUTO_TEST_SUITE_END()
