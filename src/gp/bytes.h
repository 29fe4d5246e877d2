// Byte buffers, the one hex codec, and the one key-buffer type of the project.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sekds::gp {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Overwrites memory in a way the optimiser may not remove (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;

// Allocator that wipes every block before it is released, so a key buffer can never
// be freed with its secret still in the heap (Botan's secure_vector idea).
template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_wipe(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

// Every key, PIN, component and session key lives in one of these.
using SecureBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

// Uppercase hex, no separators.
std::string to_hex(ByteView data);

// Parses hex (case-insensitive; spaces and ':' between byte pairs are tolerated).
// Throws GpError(InvalidHex) naming `what` on odd length or a non-hex character.
Bytes from_hex(std::string_view hex, std::string_view what = "hex");
SecureBytes secure_from_hex(std::string_view hex, std::string_view what = "hex");

inline ByteView view(const Bytes& b) { return {b.data(), b.size()}; }
inline ByteView view(const SecureBytes& b) { return {b.data(), b.size()}; }
inline Bytes to_bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
inline SecureBytes to_secure(ByteView v) { return SecureBytes(v.begin(), v.end()); }

// Concatenation of any number of views.
Bytes concat(std::initializer_list<ByteView> parts);

// a ^= b over min(len) bytes; throws if lengths differ.
void xor_into(std::span<std::uint8_t> a, ByteView b);

// Constant-time comparison for MACs and cryptograms.
bool equal_ct(ByteView a, ByteView b) noexcept;

// Big-endian helpers.
inline void put_u16(Bytes& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
std::uint32_t read_be(ByteView v);  // up to 4 bytes

}  // namespace sekds::gp
