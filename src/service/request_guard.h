// A streaming check of one request body, fed the bytes as they arrive (before gSOAP parses
// them), that enforces what gSOAP 2.8.124 does not:
//  - a size cap that also holds for chunked bodies without Content-Length;
//  - no document type declaration: gSOAP silently skips <!DOCTYPE ...> (measured), and SOAP
//    forbids DTDs anyway, so any "<!" other than a comment or CDATA is refused;
//  - only the five predefined entities and character references: gSOAP turns an undeclared
//    entity such as &xxe; into the character 0x7F instead of failing (measured);
//  - an element nesting cap that also covers content gSOAP skips without counting levels
//    (unknown SOAP headers), where soap->maxlevel does not apply (measured);
//  - a body that ends (Content-Length reached) before its XML document does: gSOAP does not
//    bound its reads by Content-Length and would wait for the receive timeout (measured).
// Nothing is ever expanded or fetched: the guard only looks at bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace sekds::service {

class RequestGuard {
 public:
  enum class Violation { None, Oversize, Dtd, UndeclaredEntity, TooDeep, Truncated };

  RequestGuard(std::size_t max_body_bytes, unsigned max_depth) noexcept
      : max_bytes_(max_body_bytes), max_depth_(max_depth) {}

  // Forget the previous request.
  void reset() noexcept;
  // The body's declared length (Content-Length), once known; 0 = unknown (chunked).
  void expect_length(std::size_t n) noexcept { expected_ = n; }
  // Feed the next bytes of the body. Returns the first violation seen so far (sticky).
  Violation feed(std::string_view chunk) noexcept;
  Violation violation() const noexcept { return violation_; }
  std::size_t bytes() const noexcept { return bytes_; }
  unsigned depth() const noexcept { return depth_; }

  static const char* name(Violation v) noexcept;  // "oversize", "dtd", "entity", "xml_depth", "truncated"

 private:
  enum class State { Text, Lt, Bang, Tag, TagQuote, EndTag, Pi, Comment, CData, Entity };
  void step(char c) noexcept;
  void fail(Violation v) noexcept {
    if (violation_ == Violation::None) violation_ = v;
  }

  std::size_t max_bytes_;
  unsigned max_depth_;
  std::size_t bytes_ = 0;
  std::size_t expected_ = 0;
  unsigned depth_ = 0;
  bool root_seen_ = false;
  Violation violation_ = Violation::None;
  State state_ = State::Text;
  State entity_return_ = State::Text;  // where an entity reference returns to
  char quote_ = 0;                      // the quote character of an attribute value
  bool slash_ = false;                  // previous character in a tag was '/'
  char tail_[3] = {0, 0, 0};            // last characters inside a comment/CDATA/PI
  char buf_[10] = {};                   // after "<!" or "&"
  std::size_t buf_len_ = 0;
};

}  // namespace sekds::service
