// A blocking line client for the grid protocol: one request line, one response line.
#pragma once

#include <cstdint>
#include <string>

#include "gp/bytes.h"

namespace sekds::test {

class LineClient {
 public:
  LineClient(const std::string& host, std::uint16_t port);
  ~LineClient();
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;

  // Sends `line` + '\n' and returns the response line; "" when the server closed.
  std::string request(const std::string& line);
  void send_raw(const std::string& bytes);
  std::string read_line();  // "" at EOF
  // The card's response to an APDU through "APDU <slot> <hex>"; throws unless "OK ...".
  gp::Bytes apdu(int slot, gp::ByteView command);
  void shutdown_write();  // half-close: the server sees EOF but may still answer
  void close();

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace sekds::test
