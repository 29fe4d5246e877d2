// BER-TLV as ISO/IEC 7816-4 §5.2 uses it (and GlobalPlatform with it): tags of 1 to 3
// bytes, definite lengths of 1 to 4 bytes ('00'-'7F', '81 xx', '82 xxxx', '83 xxxxxx'),
// constructed objects (bit 6 of the first tag byte) parsed recursively.
//
// Decisions (strict by default, because every byte here comes from outside):
// - A tag whose first byte is '00' or 'FF' is rejected (ISO 7816-4 reserves both as
//   invalid first bytes). ISO 7816-4 lets '00'/'FF' padding appear before, between and
//   after objects in stored data (erased records); GlobalPlatform responses never pad, so
//   skipping it is opt-in (TlvParseOptions::skip_padding) and applies at every level.
// - A 2-byte tag's second byte is '00'-'7F'; a 3-byte tag's second byte is '81'-'FF' (no
//   leading zero bits) and its third '00'-'7F'. ISO 7816-4 wants '1F'-'7F' in the second
//   byte, but EMV and GP use tags like 'BF0C' and '9F02', so those are accepted.
//   4-byte tags are rejected (TlvBadTag).
// - Indefinite length '80' and length fields '84'-'FF' are rejected (TlvBadLength).
//   Non-minimal lengths ('81 05') are legal BER and some cards send them, so they are
//   accepted unless TlvParseOptions::reject_non_minimal_length; encoding is always minimal.
// - Errors carry the byte offset of the field at fault, counted from the start of the
//   buffer given to the parser: the tag for tag errors, the length field for length
//   errors and for values that do not fit. A value running past the end of the whole
//   buffer is TlvTruncated (the data stopped early); one running past the end of its
//   parent's value is TlvBadLength (the length is impossible where it stands).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "gp/bytes.h"

namespace sekds::gp {

// A tag as the big-endian number of its bytes: 0x9F7F, 0x5F50, 0xBF0C, 0xE0, 0xDF8101.
using Tag = std::uint32_t;

inline constexpr std::size_t kMaxTagBytes = 3;
inline constexpr std::size_t kMaxTlvLength = 0xFFFFFF;  // what '83 xxxxxx' can say

// Number of bytes of the tag's encoding (1..3); 0 if it is not a valid tag.
std::size_t tag_size(Tag t) noexcept;
bool tag_is_valid(Tag t) noexcept;
bool tag_is_constructed(Tag t) noexcept;  // bit 6 ('20') of the first byte
std::string tag_hex(Tag t);               // "9F7F"

struct Tlv {
  Tag tag = 0;
  // The value field exactly as encoded; for a constructed object, its children's encoding.
  // encode() writes this, so build constructed objects with constructed() to keep the two
  // in step.
  Bytes value;
  std::vector<Tlv> children;  // constructed objects only: the parsed value
  std::size_t offset = 0;       // of the tag, in the buffer it was parsed from
  std::size_t header_size = 0;  // tag and length bytes as parsed (0 for built objects)

  static Tlv primitive(Tag tag, Bytes value);
  static Tlv constructed(Tag tag, std::vector<Tlv> children);

  bool is_constructed() const noexcept { return tag_is_constructed(tag); }
  std::size_t value_offset() const noexcept { return offset + header_size; }
  // First / every direct child with this tag.
  const Tlv* find(Tag t) const noexcept;
  std::vector<const Tlv*> find_all(Tag t) const;
  // The first direct child with this tag; throws GpError(TlvBadTag) naming both tags.
  const Tlv& require(Tag t) const;
  Bytes encode() const;

  // Same tag, value and children; offsets are where they came from, not what they are.
  friend bool operator==(const Tlv& a, const Tlv& b) { return a.tag == b.tag && a.value == b.value && a.children == b.children; }
};

struct TlvParseOptions {
  bool skip_padding = false;               // '00'/'FF' bytes before, between and after objects
  bool reject_non_minimal_length = false;  // '81 05' instead of '05', '82 00 80' ...
  std::size_t max_depth = 16;              // nesting of constructed objects (stack guard)
};

// Every object in `data`, which must be consumed exactly.
std::vector<Tlv> parse_tlv_list(ByteView data, const TlvParseOptions& opt = {});
// Exactly one object; bytes after it are TlvTrailingData.
Tlv parse_tlv(ByteView data, const TlvParseOptions& opt = {});

// The tag and length at data[offset]: the header alone, checked against the buffer.
struct TlvHeader {
  Tag tag = 0;
  std::size_t length = 0;       // of the value
  std::size_t header_size = 0;  // tag and length bytes
};
TlvHeader read_tlv_header(ByteView data, std::size_t offset = 0, const TlvParseOptions& opt = {});

enum class TlvSearch { Direct, Recursive };  // Recursive: depth-first, pre-order
const Tlv* find_tlv(const std::vector<Tlv>& list, Tag t, TlvSearch how = TlvSearch::Direct) noexcept;
std::vector<const Tlv*> find_all_tlv(const std::vector<Tlv>& list, Tag t, TlvSearch how = TlvSearch::Direct);

// Encoders. Invalid tags and values longer than kMaxTlvLength throw GpError(InvalidArgument).
Bytes encode_tag(Tag t);
Bytes encode_length(std::size_t n);
Bytes encode_tlv(Tag t, ByteView value);
void append_tlv(Bytes& out, Tag t, ByteView value);
Bytes encode_tlv_list(const std::vector<Tlv>& list);

// GET DATA answers come with their outer tag ('5F50 L url') or, from some cards, as the
// bare value. If `data` starts with the tag's bytes it must be exactly that one object and
// its value is returned; otherwise `data` is the value. With `fallback_to_raw`, data that
// starts with the tag bytes but is not one such object is taken as the bare value (for
// free-form values such as the IIN, which may begin with the tag byte by chance).
Bytes strip_outer_tag(Tag t, ByteView data, bool fallback_to_raw = false);

}  // namespace sekds::gp
