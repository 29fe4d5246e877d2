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

// RFC 9110 §5.6.2 token characters.
bool is_tchar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}
bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// Field values and the request target: visible characters, SP and HTAB only (no NUL, no CR).
bool is_clean_text(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return u == '\t' || (u >= 0x20 && u != 0x7F);
  });
}

// The line without its line end ("\r\n" or "\n"); a CR anywhere else is refused by the callers.
std::string_view without_eol(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

HttpRequestReader::State HttpRequestReader::feed(std::string_view bytes) {
  buf_.append(bytes);
  if (state_ != State::NeedMore) return state_;
  return advance();
}

HttpRequestReader::State HttpRequestReader::next() {
  buf_.erase(0, state_ == State::Complete ? end_ : buf_.size());
  body_.clear();
  kept_.clear();
  gsoap_.clear();
  if (body_.capacity() > 65536) body_.shrink_to_fit();  // an idle connection keeps little
  if (gsoap_.capacity() > 65536) gsoap_.shrink_to_fit();
  if (buf_.capacity() > 65536 && buf_.size() < 4096) buf_.shrink_to_fit();
  state_ = State::NeedMore;
  error_.clear();
  method_.clear();
  header_end_ = scan_ = line_start_ = end_ = pos_ = chunk_left_ = content_length_ = trailer_start_ = 0;
  request_line_.clear();
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
  return complete();
}

HttpRequestReader::State HttpRequestReader::complete() {
  gsoap_.clear();
  gsoap_.reserve(request_line_.size() + kept_.size() + body_.size() + 64);
  gsoap_.append(request_line_).append("\r\n").append(kept_);
  if (!body_.empty() || method_ == "POST") gsoap_.append("Content-Length: ").append(std::to_string(body_.size())).append("\r\n");
  gsoap_.append("\r\n").append(body_);
  state_ = State::Complete;
  return state_;
}

bool HttpRequestReader::parse_header(std::string_view header) {
  // Request line: method SP target SP HTTP-version (RFC 9112 §3), nothing looser.
  std::size_t first = header.find('\n');
  std::string_view request_line = without_eol(header.substr(0, first));
  std::size_t sp1 = request_line.find(' ');
  std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || !is_token(request_line.substr(0, sp1)) ||
      sp2 == sp1 + 1 || !is_clean_text(request_line.substr(sp1 + 1, sp2 - sp1 - 1)) ||
      request_line.substr(sp1 + 1, sp2 - sp1 - 1).find_first_of(" \t") != std::string_view::npos ||
      (request_line.substr(sp2 + 1) != "HTTP/1.1" && request_line.substr(sp2 + 1) != "HTTP/1.0")) {
    fail(State::Malformed, "malformed request line");
    return false;
  }
  method_ = std::string(request_line.substr(0, sp1));
  request_line_ = std::string(request_line);
  bool have_length = false;
  std::size_t at = first + 1;
  for (;;) {
    std::size_t nl = header.find('\n', at);
    std::string_view line = without_eol(header.substr(at, nl - at));
    at = nl + 1;
    if (line.empty()) break;  // the end of the header (advance() found it)
    if (line.front() == ' ' || line.front() == '\t') {
      fail(State::Malformed, "folded or blank header line");
      return false;
    }
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || !is_token(name)) {
      fail(State::Malformed, "malformed header line (a field name must be a token followed by ':')");
      return false;
    }
    std::string_view value = trim(line.substr(colon + 1));
    if (!is_clean_text(value)) {
      fail(State::Malformed, "control character in header field " + std::string(name));
      return false;
    }
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
    } else if (iequals(name, "Content-Encoding")) {
      // No compressed bodies: a deflate bomb would bypass the size cap.
      if (!iequals(value, "identity")) {
        fail(State::Unsupported, "Content-Encoding " + std::string(value) + " is not accepted");
        return false;
      }
    } else if (iequals(name, "Expect")) {
      expect_continue_ = iequals(value, "100-continue");
    } else if (iequals(name, "Host") || iequals(name, "Content-Type") || iequals(name, "SOAPAction") ||
               iequals(name, "Connection")) {
      kept_.append(name).append(": ").append(value).append("\r\n");  // what gSOAP needs
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
    // Whatever the framing (chunk extensions, tiny chunks), one request's raw bytes are bounded
    // (finding F5: complete chunk lines were not, and one connection held 1 GB). Judged by the
    // decoding position, so the outcome does not depend on how the bytes were cut.
    if (pos_ - header_end_ > max_raw())
      return fail(State::BodyTooLarge, "chunked request larger than " + std::to_string(max_raw()) + " bytes with its framing");
    switch (chunk_) {
      case Chunk::Size: {
        std::size_t nl = line_end(buf_, pos_);
        if ((nl == std::string::npos ? buf_.size() : nl) - pos_ > 1024)
          return fail(State::Malformed, "chunk size line too long");
        if (nl == std::string::npos) return state_;
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
          trailer_start_ = pos_;
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
        if ((nl == std::string::npos ? buf_.size() : nl) - pos_ > 1)
          return fail(State::Malformed, "chunk data longer than its size");
        if (nl == std::string::npos) return state_;
        if (nl - pos_ == 1 && buf_[pos_] != '\r') return fail(State::Malformed, "chunk data longer than its size");
        pos_ = nl + 1;
        chunk_ = Chunk::Size;
        break;
      }
      case Chunk::Trailer: {  // trailer fields are read past and dropped, within max_header_
        std::size_t nl = line_end(buf_, pos_);
        if ((nl == std::string::npos ? buf_.size() : nl) - trailer_start_ > max_header_)
          return fail(State::HeaderTooLarge, "chunked trailer larger than " + std::to_string(max_header_) + " bytes");
        if (nl == std::string::npos) return state_;
        std::string_view line = without_eol(std::string_view(buf_).substr(pos_, nl - pos_));
        pos_ = nl + 1;
        if (line.empty()) {
          end_ = pos_;
          return complete();
        }
        if (!is_clean_text(line)) return fail(State::Malformed, "control character in a chunked trailer");
        break;
      }
    }
  }
}

}  // namespace sekds::service
