// fuzz_tlv: gp BER-TLV parsing (recursive) under three option sets, and what must hold for
// every input the parser accepts:
//  - every object lies inside the input, its value is the input's bytes at value_offset(),
//    its tag re-encodes to the bytes it was read from, constructed objects' children are
//    their value parsed again;
//  - encode then parse gives the same tree; with minimal lengths required (and no padding)
//    the encoding is the input byte for byte;
//  - parse_tlv() accepts exactly the inputs that are one object; read_tlv_header() agrees;
// and for every input it refuses: a GpError (never another exception) whose offset lies in
// the input.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "fuzz_check.h"
#include "gp/error.h"
#include "gp/tlv.h"

namespace {

using namespace sekds::gp;

void check_error(const GpError& e, std::size_t size) {
  if (e.offset()) FUZZ_CHECK(*e.offset() <= size, "GpError offset beyond the input");
}

void check_node(const Tlv& t, ByteView in, const TlvParseOptions& opt, std::size_t depth) {
  FUZZ_CHECK(tag_is_valid(t.tag), "parsed a tag that tag_is_valid() refuses");
  FUZZ_CHECK(depth <= opt.max_depth, "nesting deeper than max_depth was accepted");
  FUZZ_CHECK(t.header_size >= 2 && t.header_size <= kMaxTagBytes + 4, "impossible header size");
  FUZZ_CHECK(t.offset + t.header_size + t.value.size() <= in.size(), "object runs past the input");
  FUZZ_CHECK(std::equal(t.value.begin(), t.value.end(), in.begin() + static_cast<std::ptrdiff_t>(t.value_offset())),
             "value differs from the input bytes at value_offset()");
  const Bytes tag = encode_tag(t.tag);
  FUZZ_CHECK(std::equal(tag.begin(), tag.end(), in.begin() + static_cast<std::ptrdiff_t>(t.offset)),
             "tag does not re-encode to the bytes it was read from");
  if (!t.is_constructed()) {
    FUZZ_CHECK(t.children.empty(), "primitive object with children");
    return;
  }
  // The value parsed on its own gives the same children (offsets differ, == ignores them).
  std::vector<Tlv> again;
  try {
    again = parse_tlv_list(t.value, opt);
  } catch (const GpError&) {
    FUZZ_CHECK(false, "a constructed object's value does not parse on its own");
  }
  FUZZ_CHECK(again == t.children, "children differ from the value parsed again");
  for (const Tlv& c : t.children) {
    FUZZ_CHECK(c.offset >= t.value_offset() && c.offset + c.header_size + c.value.size() <= t.value_offset() + t.value.size(),
               "child lies outside its parent's value");
    check_node(c, in, opt, depth + 1);
  }
}

void count_tags(const std::vector<Tlv>& list, Tag tag, std::size_t& n) {
  for (const Tlv& t : list) {
    if (t.tag == tag) ++n;
    count_tags(t.children, tag, n);
  }
}

void run(ByteView in, const TlvParseOptions& opt) {
  std::vector<Tlv> list;
  bool list_ok = false;
  try {
    list = parse_tlv_list(in, opt);
    list_ok = true;
  } catch (const GpError& e) {
    check_error(e, in.size());
  }

  bool one_ok = false;
  Tlv one;
  try {
    one = parse_tlv(in, opt);
    one_ok = true;
  } catch (const GpError& e) {
    check_error(e, in.size());
  }
  FUZZ_CHECK(one_ok == (list_ok && list.size() == 1), "parse_tlv and parse_tlv_list disagree on one object");
  if (one_ok) FUZZ_CHECK(one == list.front(), "parse_tlv and parse_tlv_list give different objects");

  if (!list_ok) return;
  for (const Tlv& t : list) check_node(t, in, opt, 0);

  // Encode, parse again: the same tree.
  const Bytes enc = encode_tlv_list(list);
  std::vector<Tlv> again;
  try {
    again = parse_tlv_list(enc, opt);
  } catch (const GpError&) {
    FUZZ_CHECK(false, "the encoding of a parsed list does not parse");
  }
  FUZZ_CHECK(again == list, "encode/parse round trip changed the tree");
  if (opt.reject_non_minimal_length && !opt.skip_padding)
    FUZZ_CHECK(enc == Bytes(in.begin(), in.end()), "minimal input does not re-encode byte for byte");
  FUZZ_CHECK(enc.size() <= in.size(), "the encoding is longer than the input");

  if (!list.empty() && !opt.skip_padding) {
    const TlvHeader h = read_tlv_header(in, 0, opt);
    FUZZ_CHECK(h.tag == list.front().tag && h.length == list.front().value.size() &&
                   h.header_size == list.front().header_size,
               "read_tlv_header disagrees with the parser");
  }

  // Searches: a recursive search finds every object of the tag, in pre-order.
  if (!list.empty()) {
    const Tag tag = list.back().children.empty() ? list.back().tag : list.back().children.back().tag;
    std::size_t n = 0;
    count_tags(list, tag, n);
    FUZZ_CHECK(find_all_tlv(list, tag, TlvSearch::Recursive).size() == n, "recursive search misses objects");
    FUZZ_CHECK(find_tlv(list, tag, TlvSearch::Recursive) != nullptr, "recursive search finds nothing");
  }

  // GET DATA answers with or without their outer tag.
  if (one_ok && !opt.skip_padding && opt.reject_non_minimal_length) {
    const Bytes v = strip_outer_tag(one.tag, in);
    FUZZ_CHECK(v == one.value, "strip_outer_tag does not return the object's value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  run(in, TlvParseOptions{});
  run(in, TlvParseOptions{.skip_padding = false, .reject_non_minimal_length = true, .max_depth = 16});
  run(in, TlvParseOptions{.skip_padding = true, .reject_non_minimal_length = false, .max_depth = 4});
  try {
    (void)strip_outer_tag(0x5F50, in, true);  // never throws with the fallback
  } catch (const GpError&) {
    FUZZ_CHECK(false, "strip_outer_tag threw with fallback_to_raw");
  }
  return 0;
}
