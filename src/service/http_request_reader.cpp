#include "service/http_request_reader.h"

#include <algorithm>
#include <cctype>

namespace sekds::service {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// A line ends with LF (CR before it optional, as gSOAP accepts). npos: no complete line yet.
std::size_t line_end(const std::string& s, std::size_t from) { return s.find('\n', from); }

}  // namespace

HttpRequestReader::State HttpRequestReader::feed(std::string_view bytes) {
  buf_.append(bytes);
  if (state_ != State::NeedMore) return state_;
  return advance();
}

HttpRequestReader::State HttpRequestReader::next() {
  buf_.erase(0, state_ == State::Complete ? end_ : buf_.size());
  body_.clear();
  if (body_.capacity() > 65536) body_.shrink_to_fit();  // an idle connection keeps little
  if (buf_.capacity() > 65536 && buf_.size() < 4096) buf_.shrink_to_fit();
  state_ = State::NeedMore;
  error_.clear();
  method_.clear();
  header_end_ = scan_ = line_start_ = end_ = pos_ = chunk_left_ = content_length_ = 0;
  chunked_ = expect_continue_ = false;
  chunk_ = Chunk::Size;
  return advance();
}

HttpRequestReader::State HttpRequestReader::fail(State s, std::string why) {
  state_ = s;
  error_ = std::move(why);
  return state_;
}

HttpRequestReader::State HttpRequestReader::advance() {
  if (header_end_ == 0) {
    // Empty lines before a request line are ignored (RFC 9112 §2.2): a client may send a CRLF
    // after a body.
    std::size_t skip = 0;
    while (skip < buf_.size() && (buf_[skip] == '\r' || buf_[skip] == '\n')) ++skip;
    if (skip) {
      buf_.erase(0, skip);
      scan_ = line_start_ = 0;
    }
    for (;;) {
      std::size_t nl = line_end(buf_, scan_);
      if (nl == std::string::npos) {
        scan_ = buf_.size();  // the current line starts at line_start_: resume the search here
        if (buf_.size() > max_header_)
          return fail(State::HeaderTooLarge, "request header larger than " + std::to_string(max_header_) + " bytes");
        return state_;
      }
      std::size_t line_start = line_start_;
      scan_ = line_start_ = nl + 1;
      if (scan_ > max_header_)
        return fail(State::HeaderTooLarge, "request header larger than " + std::to_string(max_header_) + " bytes");
      std::string_view line(buf_.data() + line_start, nl - line_start);
      if (line_start > 0 && (line.empty() || line == "\r")) {
        header_end_ = scan_;
        break;
      }
    }
    if (!parse_header(std::string_view(buf_).substr(0, header_end_))) return state_;
    pos_ = header_end_;
  }
  if (chunked_) return advance_chunked();
  if (content_length_ > max_body_)
    return fail(State::BodyTooLarge, "request body of " + std::to_string(content_length_) + " bytes");
  if (buf_.size() - header_end_ < content_length_) return state_;
  end_ = header_end_ + content_length_;
  body_.assign(buf_, header_end_, content_length_);
  state_ = State::Complete;
  return state_;
}

bool HttpRequestReader::parse_header(std::string_view header) {
  std::size_t first = header.find('\n');
  std::string_view request_line = trim(header.substr(0, first));
  std::size_t sp = request_line.find(' ');
  if (sp == std::string_view::npos || sp == 0) {
    fail(State::Malformed, "malformed request line");
    return false;
  }
  method_ = std::string(request_line.substr(0, sp));
  bool have_length = false;
  std::size_t at = first + 1;
  while (at < header.size()) {
    std::size_t nl = header.find('\n', at);
    std::string_view line = header.substr(at, nl - at);
    at = nl + 1;
    line = trim(line);
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      fail(State::Malformed, "malformed header line (no name before ':')");
      return false;
    }
    std::string_view name = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Length")) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        fail(State::Malformed, "Content-Length is not a decimal number");
        return false;
      }
      std::size_t n = std::stoull(std::string(value));
      if (have_length && n != content_length_) {
        fail(State::Malformed, "two different Content-Length values");
        return false;
      }
      have_length = true;
      content_length_ = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      if (!iequals(value, "chunked")) {
        fail(State::Malformed, "Transfer-Encoding other than chunked");
        return false;
      }
      chunked_ = true;
    } else if (iequals(name, "Expect")) {
      expect_continue_ = iequals(value, "100-continue");
    }
  }
  if (chunked_ && have_length) {
    fail(State::Malformed, "both Content-Length and Transfer-Encoding");
    return false;
  }
  return true;
}

HttpRequestReader::State HttpRequestReader::advance_chunked() {
  for (;;) {
    switch (chunk_) {
      case Chunk::Size: {
        std::size_t nl = line_end(buf_, pos_);
        if (nl == std::string::npos) {
          if (buf_.size() - pos_ > 1024) return fail(State::Malformed, "chunk size line too long");
          return state_;
        }
        std::string_view line = trim(std::string_view(buf_).substr(pos_, nl - pos_));
        line = line.substr(0, line.find(';'));  // chunk extensions are ignored
        line = trim(line);
        if (line.empty() || line.size() > 8 ||
            !std::all_of(line.begin(), line.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
          return fail(State::Malformed, "chunk size is not a hexadecimal number");
        chunk_left_ = std::stoul(std::string(line), nullptr, 16);
        pos_ = nl + 1;
        if (chunk_left_ == 0) {
          chunk_ = Chunk::Trailer;
        } else {
          if (body_.size() + chunk_left_ > max_body_) {
            body_.append(buf_, pos_, std::min(chunk_left_, buf_.size() - pos_));
            return fail(State::BodyTooLarge, "chunked request body larger than " + std::to_string(max_body_) + " bytes");
          }
          chunk_ = Chunk::Data;
        }
        break;
      }
      case Chunk::Data: {
        std::size_t n = std::min(chunk_left_, buf_.size() - pos_);
        body_.append(buf_, pos_, n);
        pos_ += n;
        chunk_left_ -= n;
        if (chunk_left_ > 0) return state_;
        chunk_ = Chunk::DataEnd;
        break;
      }
      case Chunk::DataEnd: {
        std::size_t nl = line_end(buf_, pos_);
        if (nl == std::string::npos) {
          if (buf_.size() - pos_ > 2) return fail(State::Malformed, "chunk data longer than its size");
          return state_;
        }
        if (!trim(std::string_view(buf_).substr(pos_, nl - pos_)).empty())
          return fail(State::Malformed, "chunk data longer than its size");
        pos_ = nl + 1;
        chunk_ = Chunk::Size;
        break;
      }
      case Chunk::Trailer: {
        std::size_t nl = line_end(buf_, pos_);
        if (nl == std::string::npos) {
          if (buf_.size() - pos_ > max_header_) return fail(State::HeaderTooLarge, "chunked trailer too large");
          return state_;
        }
        bool empty = trim(std::string_view(buf_).substr(pos_, nl - pos_)).empty();
        pos_ = nl + 1;
        if (empty) {
          end_ = pos_;
          state_ = State::Complete;
          return state_;
        }
        break;
      }
    }
  }
}

}  // namespace sekds::service
