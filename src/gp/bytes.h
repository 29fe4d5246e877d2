// Byte buffers, the one hex codec, and the one key-buffer type of the project.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sekds::gp {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Overwrites memory in a way the optimiser may not remove (OPENSSL_cleanse).
void secure_wipe(void* p, std::size_t n) noexcept;

namespace detail {
// The allocator's out-of-line half (bytes.cpp): one page table for the whole process.
void* secure_allocate(std::size_t bytes);
void secure_deallocate(void* p, std::size_t bytes) noexcept;
}  // namespace detail

// Allocator that wipes every block before it is released, so a key buffer can never
// be freed with its secret still in the heap (Botan's secure_vector idea). Its pages are also
// locked in RAM (mlock: never swapped) and left out of core dumps (MADV_DONTDUMP), best effort:
// RLIMIT_MEMLOCK may be as small as 64 KiB, and a block that cannot be locked is still wiped.
template <class T>
struct WipingAllocator {
  using value_type = T;
  // operator new's alignment is all the block gets.
  static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  WipingAllocator() noexcept = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(detail::secure_allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { detail::secure_deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
};

// What the allocator could lock (a daemon may export it; tests read it).
struct SecureMemoryStats {
  std::uint64_t allocations = 0;    // blocks allocated so far
  std::uint64_t lock_failures = 0;  // pages mlock refused (RLIMIT_MEMLOCK): swappable, still wiped
  std::size_t locked_pages = 0;     // pages holding a live secret now
};
SecureMemoryStats secure_memory_stats() noexcept;

// Every key, PIN, component and session key lives in one of these.
using SecureBytes = std::vector<std::uint8_t, WipingAllocator<std::uint8_t>>;

// Text that holds key material (a component sheet, a typed component, a key file). A vector,
// not a basic_string: a string keeps short values in its inline (SSO) buffer, which no allocator
// ever sees, so a few typed hex digits survived it; every byte of a vector is in a wiped block.
using SecureText = std::vector<char, WipingAllocator<char>>;
inline std::string_view text_view(const SecureText& t) noexcept { return {t.data(), t.size()}; }

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
