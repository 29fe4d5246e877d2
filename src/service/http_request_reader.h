// Frames one HTTP/1.1 request out of the bytes a connection receives, before any soap context
// sees them. The server reads a request to its end without blocking (epoll wakes it as bytes
// arrive) and only then lends it a soap context and a worker: a client that trickles or stalls
// holds a little memory and no thread, and gSOAP parses from memory, never waiting on a socket.
//
// The body is also kept de-chunked, so that the RequestGuard judges the complete body before
// the XML parser starts (a violation raised from inside gSOAP's reads does not stop it: fuzz
// findings F2 and F3).
//
// Framing rules (RFC 9112 §6): Content-Length, or Transfer-Encoding: chunked; both at once, two
// different lengths, a length that is not a number, or any other transfer coding are refused
// (request smuggling). No length at all: an empty body. Header lines are strict (RFC 9110
// token names, no control characters, no folding, no blank-looking lines), and gSOAP never
// parses the raw header: it gets `gsoap_request()`, rebuilt from what this reader understood
// (request line, the few fields gSOAP needs, Content-Length of the de-chunked body, the body).
// gSOAP's own header reading is looser (it matches names with '-' as a wildcard, ends the
// header at a NUL, inflates Content-Encoding): two readers of one request must never disagree
// on where the body is, or the guard checks one body and gSOAP parses another (finding F4).
// The raw size of a request is bounded on every feed, framing included (finding F5).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sekds::service {

class HttpRequestReader {
 public:
  enum class State {
    NeedMore,        // not a complete request yet
    Complete,        // request() and body() are the whole request
    BodyTooLarge,    // the declared or received body exceeds max_body: answer 413 now
    HeaderTooLarge,  // no end of header within max_header bytes: answer 431
    Malformed,       // framing that cannot be trusted: answer 400 with error()
    Unsupported,     // a Content-Encoding other than identity: answer 415
  };

  HttpRequestReader(std::size_t max_header, std::size_t max_body) noexcept
      : max_header_(max_header), max_body_(max_body) {}

  // Appends received bytes; returns the state. Once not NeedMore, further bytes are only kept
  // (a pipelined next request) until next().
  State feed(std::string_view bytes);
  State state() const noexcept { return state_; }

  // Bytes of the current request received so far (0: nothing yet, e.g. an idle keep-alive).
  bool started() const noexcept { return !buf_.empty(); }
  // The request as received (header and body, chunked or not).
  std::string_view request() const noexcept { return std::string_view(buf_).substr(0, end_); }
  // What gSOAP parses (when Complete): the request line, Host, Content-Type, SOAPAction and
  // Connection as received, Content-Length of body(), then body().
  std::string_view gsoap_request() const noexcept { return gsoap_; }
  // The body, de-chunked (for BodyTooLarge: as much as was received).
  std::string_view body() const noexcept { return body_; }
  // The method of the request line ("POST"), once the header is complete.
  const std::string& method() const noexcept { return method_; }
  bool header_complete() const noexcept { return header_end_ != 0; }
  bool expects_continue() const noexcept { return expect_continue_; }
  const std::string& error() const noexcept { return error_; }

  // Drops the current request; bytes received after it start the next one. Returns its state.
  State next();

 private:
  State advance();
  bool parse_header(std::string_view header);
  State fail(State s, std::string why);
  State advance_chunked();
  State complete();
  std::size_t max_raw() const noexcept { return max_header_ + 2 * max_body_ + 65536; }

  std::size_t max_header_, max_body_;
  std::string buf_;   // raw bytes from the start of the current request
  std::string body_;  // de-chunked body
  std::string kept_;  // header fields passed on to gSOAP
  std::string gsoap_;
  State state_ = State::NeedMore;
  std::string error_;
  std::string method_;
  std::size_t header_end_ = 0;  // 0 until the header is complete
  std::size_t scan_ = 0;        // where the search for the end of the header resumes
  std::size_t line_start_ = 0;  // start of the header line being received
  std::size_t end_ = 0;         // end of the request in buf_ (when Complete)
  bool chunked_ = false;
  bool expect_continue_ = false;
  std::size_t content_length_ = 0;
  // Chunked decoding.
  enum class Chunk { Size, Data, DataEnd, Trailer };
  Chunk chunk_ = Chunk::Size;
  std::size_t pos_ = 0;        // next raw byte to decode
  std::size_t chunk_left_ = 0;
  std::size_t trailer_start_ = 0;
  std::string request_line_;
};

}  // namespace sekds::service
