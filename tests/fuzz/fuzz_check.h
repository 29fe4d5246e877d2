// What every fuzz target shares: an invariant check that stops the run with a message (the
// fuzzer saves the input), and reading small integers off the front of an input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace sekds::fuzz {

// A broken invariant is a finding: print it and abort so libFuzzer writes the crash input.
[[noreturn]] inline void invariant_failed(const char* expr, const char* file, int line, const char* why) {
  std::fprintf(stderr, "\n*** FUZZ INVARIANT FAILED: %s\n    %s:%d: %s\n", why, file, line, expr);
  std::abort();
}

#define FUZZ_CHECK(cond, why)                                                \
  do {                                                                       \
    if (!(cond)) ::sekds::fuzz::invariant_failed(#cond, __FILE__, __LINE__, why); \
  } while (0)

// Consumes bytes from the front of the fuzzer's input; past the end it yields zeros.
class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const noexcept { return pos_ >= size_; }
  std::size_t left() const noexcept { return size_ - pos_; }
  std::uint8_t u8() noexcept { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() noexcept { return static_cast<std::uint16_t>((u8() << 8) | u8()); }
  // Up to n bytes (fewer at the end of the input).
  std::span<const std::uint8_t> take(std::size_t n) noexcept {
    if (n > left()) n = left();
    std::span<const std::uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }
  std::span<const std::uint8_t> rest() noexcept { return take(left()); }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

}  // namespace sekds::fuzz
