// A card in a PC/SC reader through pcsc-lite (libpcsclite). The reader is named exactly, or
// by a part of its name that matches one reader only ("Virtual PCD" for "Virtual PCD 00 00").
// T=0 and T=1; at the T=0 level, 61xx is followed by GET RESPONSE and 6Cxx by the same
// command with the exact Le, so callers always see one complete response.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tsm/card_transport.h"

namespace sekds::tsm {

class PcscTransport final : public CardTransport {
 public:
  // Establishes a context, finds the reader and connects (shared, T=0 or T=1). Throws
  // TsmError(CardTransport) naming the reader and the PC/SC error.
  explicit PcscTransport(const std::string& reader);
  ~PcscTransport() override;
  PcscTransport(const PcscTransport&) = delete;
  PcscTransport& operator=(const PcscTransport&) = delete;

  gp::Bytes transmit(gp::ByteView command) override;
  gp::Bytes reset() override;
  std::string describe() const override { return "pcsc:" + reader_; }
  // T=0 or T=1 as negotiated.
  int protocol() const noexcept { return protocol_t1_ ? 1 : 0; }

  // The reader names pcsc-lite knows (empty list when none). Throws TsmError(CardTransport).
  static std::vector<std::string> list_readers();

 private:
  gp::Bytes transmit_raw(gp::ByteView command);
  std::intptr_t context_ = 0;
  std::intptr_t card_ = 0;
  bool connected_ = false;
  bool protocol_t1_ = true;
  std::string reader_;
};

}  // namespace sekds::tsm
