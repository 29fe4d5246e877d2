#include "service/request_guard.h"

#include <cstring>

namespace sekds::service {
namespace {

bool is_prefix_of(const char* buf, std::size_t n, const char* word) {
  return std::strlen(word) >= n && std::memcmp(buf, word, n) == 0;
}

bool known_entity(const char* name, std::size_t n) {
  if (n >= 2 && name[0] == '#') {
    std::size_t i = 1;
    bool hex = name[1] == 'x';
    if (hex) ++i;
    if (i == n) return false;
    for (; i < n; ++i) {
      char c = name[i];
      bool ok = (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
      if (!ok) return false;
    }
    return true;
  }
  for (const char* e : {"lt", "gt", "amp", "quot", "apos"})
    if (std::strlen(e) == n && std::memcmp(name, e, n) == 0) return true;
  return false;
}

}  // namespace

const char* RequestGuard::name(Violation v) noexcept {
  switch (v) {
    case Violation::None: return "none";
    case Violation::Oversize: return "oversize";
    case Violation::Dtd: return "dtd";
    case Violation::UndeclaredEntity: return "entity";
    case Violation::TooDeep: return "xml_depth";
    case Violation::Truncated: return "truncated";
  }
  return "?";
}

void RequestGuard::reset() noexcept {
  bytes_ = 0;
  expected_ = 0;
  depth_ = 0;
  root_seen_ = false;
  violation_ = Violation::None;
  state_ = State::Text;
  entity_return_ = State::Text;
  quote_ = 0;
  slash_ = false;
  std::memset(tail_, 0, sizeof tail_);
  buf_len_ = 0;
}

RequestGuard::Violation RequestGuard::feed(std::string_view chunk) noexcept {
  if (violation_ != Violation::None) return violation_;
  bytes_ += chunk.size();
  if (bytes_ > max_bytes_) {
    fail(Violation::Oversize);
    return violation_;
  }
  std::size_t before = bytes_ - chunk.size();
  std::size_t n = chunk.size();
  // Bytes past the declared length belong to the next (pipelined) request.
  if (expected_ > 0 && bytes_ > expected_) n = expected_ > before ? expected_ - before : 0;
  for (std::size_t i = 0; i < n; ++i) {
    step(chunk[i]);
    if (violation_ != Violation::None) return violation_;
  }
  bool complete = root_seen_ && depth_ == 0 && state_ == State::Text;
  if (expected_ > 0 && before < expected_ && bytes_ >= expected_ && !complete) fail(Violation::Truncated);
  return violation_;
}

void RequestGuard::step(char c) noexcept {
  auto push_tail = [this](char ch) {
    tail_[0] = tail_[1];
    tail_[1] = tail_[2];
    tail_[2] = ch;
  };
  switch (state_) {
    case State::Text:
      if (c == '<') state_ = State::Lt;
      else if (c == '&') {
        entity_return_ = State::Text;
        buf_len_ = 0;
        state_ = State::Entity;
      }
      break;
    case State::Lt:
      if (c == '/') {
        if (depth_ > 0) --depth_;
        state_ = State::EndTag;
      } else if (c == '?') {
        std::memset(tail_, 0, sizeof tail_);
        state_ = State::Pi;
      } else if (c == '!') {
        buf_len_ = 0;
        state_ = State::Bang;
      } else {
        if (++depth_ > max_depth_) fail(Violation::TooDeep);
        root_seen_ = true;
        slash_ = false;
        state_ = State::Tag;
      }
      break;
    case State::Bang:
      buf_[buf_len_++] = c;
      if (buf_len_ == 2 && buf_[0] == '-' && buf_[1] == '-') {
        std::memset(tail_, 0, sizeof tail_);
        state_ = State::Comment;
      } else if (buf_len_ == 7 && std::memcmp(buf_, "[CDATA[", 7) == 0) {
        std::memset(tail_, 0, sizeof tail_);
        state_ = State::CData;
      } else if (!is_prefix_of(buf_, buf_len_, "--") && !is_prefix_of(buf_, buf_len_, "[CDATA[")) {
        fail(Violation::Dtd);  // <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, ...
      }
      break;
    case State::Tag:
      if (c == '"' || c == '\'') {
        quote_ = c;
        state_ = State::TagQuote;
      } else if (c == '>') {
        if (slash_ && depth_ > 0) --depth_;  // <empty/>
        state_ = State::Text;
      }
      slash_ = (c == '/');
      break;
    case State::TagQuote:
      if (c == quote_) {
        state_ = State::Tag;
        slash_ = false;
      } else if (c == '&') {
        entity_return_ = State::TagQuote;
        buf_len_ = 0;
        state_ = State::Entity;
      }
      break;
    case State::Entity:
      if (c == ';') {
        if (!known_entity(buf_, buf_len_)) fail(Violation::UndeclaredEntity);
        state_ = entity_return_;
      } else if (buf_len_ == sizeof buf_) {
        fail(Violation::UndeclaredEntity);  // longer than any allowed reference
      } else {
        buf_[buf_len_++] = c;
      }
      break;
    case State::EndTag:
      if (c == '>') state_ = State::Text;
      break;
    case State::Pi:
      push_tail(c);
      if (tail_[1] == '?' && tail_[2] == '>') state_ = State::Text;
      break;
    case State::Comment:
      push_tail(c);
      if (tail_[0] == '-' && tail_[1] == '-' && tail_[2] == '>') state_ = State::Text;
      break;
    case State::CData:
      push_tail(c);
      if (tail_[0] == ']' && tail_[1] == ']' && tail_[2] == '>') state_ = State::Text;
      break;
  }
}

}  // namespace sekds::service
