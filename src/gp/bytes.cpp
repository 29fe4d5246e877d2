#include "gp/bytes.h"

#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

#include "gp/error.h"

namespace sekds::gp {

void secure_wipe(void* p, std::size_t n) noexcept {
  if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

namespace {

// mlock and MADV_DONTDUMP work on whole pages, and small secrets share pages with each other
// and with ordinary heap blocks: a page is locked when its first live secret arrives and
// unlocked only when its last one is released, never while another secret still uses it.
class PageTable {
 public:
  PageTable() : page_(static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE))) {}

  void lock(const void* p, std::size_t n) {
    const std::lock_guard<std::mutex> guard(mu_);
    const std::uintptr_t first = first_page(p), last = last_page(p, n);
    std::uintptr_t a = first;
    try {
      Run run(*this, true);
      for (; a <= last; a += page_) run.page(a, refs_[a]++ == 0);
    } catch (...) {  // std::bad_alloc from the table: undo the pages counted so far
      Run run(*this, false);
      for (std::uintptr_t b = first; b < a; b += page_) run.page(b, release(b));
      throw;
    }
  }

  void unlock(const void* p, std::size_t n) noexcept {
    const std::lock_guard<std::mutex> guard(mu_);
    Run run(*this, false);
    for (std::uintptr_t a = first_page(p), last = last_page(p, n); a <= last; a += page_) run.page(a, release(a));
  }

  std::size_t pages() {
    const std::lock_guard<std::mutex> guard(mu_);
    return refs_.size();
  }

  std::atomic<std::uint64_t> allocations{0};
  std::atomic<std::uint64_t> lock_failures{0};

 private:
  // Contiguous pages that changed state go to the kernel in one call each.
  class Run {
   public:
    Run(PageTable& t, bool locking) : t_(t), locking_(locking) {}
    ~Run() { flush(); }
    void page(std::uintptr_t a, bool changed) {
      if (!changed) return flush();
      if (len_ == 0) start_ = a;
      len_ += t_.page_;
    }

   private:
    void flush() noexcept {
      if (len_ == 0) return;
      void* p = reinterpret_cast<void*>(start_);
      if (locking_) {
        if (::mlock(p, len_) != 0) t_.lock_failures += len_ / t_.page_;
        ::madvise(p, len_, MADV_DONTDUMP);  // best effort; PR_SET_DUMPABLE 0 is the main guard
      } else {
        ::munlock(p, len_);
        ::madvise(p, len_, MADV_DODUMP);
      }
      len_ = 0;
    }
    PageTable& t_;
    bool locking_;
    std::uintptr_t start_ = 0;
    std::size_t len_ = 0;
  };

  // True when the page's last secret left.
  bool release(std::uintptr_t a) noexcept {
    const auto it = refs_.find(a);
    if (it == refs_.end() || --it->second != 0) return false;
    refs_.erase(it);
    return true;
  }
  std::uintptr_t first_page(const void* p) const noexcept { return reinterpret_cast<std::uintptr_t>(p) & ~(page_ - 1); }
  std::uintptr_t last_page(const void* p, std::size_t n) const noexcept {
    return (reinterpret_cast<std::uintptr_t>(p) + n - 1) & ~(page_ - 1);
  }

  const std::uintptr_t page_;
  std::mutex mu_;
  std::unordered_map<std::uintptr_t, std::size_t> refs_;
};

// Never destroyed: secrets in static objects are released after every destructor ran.
PageTable& page_table() {
  static PageTable* const table = new PageTable;
  return *table;
}

// Small secrets (keys, derivation data, PINs: the release path makes several per card key) come
// from one region that is mapped, locked and left out of dumps once and never returned: locking
// and unlocking a heap page per secret cost 4 system calls each and halved the HSM release rate
// (bench_hsm_ceiling, 2026-12-07). Freed blocks are wiped by the caller and kept on a free list
// of their size class. Larger secrets, and all of them once the region is full or if the kernel
// would not lock it, take the page-by-page path above; so do all of them under AddressSanitizer,
// which sees a use after free only in blocks that go back to its heap.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUnderAddressSanitizer = true;
#else
constexpr bool kUnderAddressSanitizer = false;
#endif
#else
constexpr bool kUnderAddressSanitizer = false;
#endif

class SmallSecretArena {
 public:
  static constexpr std::size_t kRegion = std::size_t{1} << 20;  // 256 pages
  static constexpr std::size_t kMaxBlock = 4096;

  void* allocate(std::size_t n) {
    if (kUnderAddressSanitizer || n == 0 || n > kMaxBlock) return nullptr;
    const std::size_t c = size_class(n);
    const std::lock_guard<std::mutex> guard(mu_);
    if (!mapped_ && !map()) return nullptr;
    if (Free* f = free_[c]) {
      free_[c] = f->next;
      return f;
    }
    const std::size_t size = kMinBlock << c;
    if (kRegion - used_ < size) return nullptr;
    void* p = base_.load(std::memory_order_relaxed) + used_;
    used_ += size;
    return p;
  }

  // False when `p` is not from the region.
  bool deallocate(void* p, std::size_t n) noexcept {
    auto* b = static_cast<std::uint8_t*>(p);
    std::uint8_t* const base = base_.load(std::memory_order_acquire);  // set once, under mu_
    if (base == nullptr || b < base || b >= base + kRegion) return false;
    const std::lock_guard<std::mutex> guard(mu_);
    const std::size_t c = size_class(n);
    auto* f = static_cast<Free*>(p);
    f->next = free_[c];
    free_[c] = f;
    return true;
  }

 private:
  static constexpr std::size_t kMinBlock = 16;  // operator new's alignment
  static constexpr std::size_t kClasses = 9;    // 16 .. 4096
  struct Free {
    Free* next;
  };
  static std::size_t size_class(std::size_t n) noexcept {
    std::size_t c = 0;
    while ((kMinBlock << c) < n) ++c;
    return c;
  }
  bool map() noexcept {
    mapped_ = true;  // one attempt: a refusal is not retried on every allocation
    void* p = ::mmap(nullptr, kRegion, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (::mlock(p, kRegion) != 0) {  // over RLIMIT_MEMLOCK: the per-page path counts its failures
      ::munmap(p, kRegion);
      return false;
    }
    ::madvise(p, kRegion, MADV_DONTDUMP);
    base_.store(static_cast<std::uint8_t*>(p), std::memory_order_release);
    return true;
  }

  std::mutex mu_;
  bool mapped_ = false;
  std::atomic<std::uint8_t*> base_{nullptr};
  std::size_t used_ = 0;
  Free* free_[kClasses] = {};
};

SmallSecretArena& small_arena() {
  static SmallSecretArena* const arena = new SmallSecretArena;
  return *arena;
}

}  // namespace

namespace detail {

void* secure_allocate(std::size_t bytes) {
  if (void* small = small_arena().allocate(bytes)) {
    ++page_table().allocations;
    return small;
  }
  void* p = ::operator new(bytes);
  if (bytes == 0) return p;
  try {
    page_table().lock(p, bytes);
  } catch (...) {
    ::operator delete(p);  // unsized: clang 14 has no sized delete without -fsized-deallocation
    throw;
  }
  ++page_table().allocations;
  return p;
}

void secure_deallocate(void* p, std::size_t bytes) noexcept {
  secure_wipe(p, bytes);
  if (small_arena().deallocate(p, bytes)) return;
  if (bytes != 0) page_table().unlock(p, bytes);
  ::operator delete(p);  // unsized: clang 14 has no sized delete without -fsized-deallocation
}

}  // namespace detail

SecureMemoryStats secure_memory_stats() noexcept {
  PageTable& t = page_table();
  SecureMemoryStats s;
  s.allocations = t.allocations.load();
  s.lock_failures = t.lock_failures.load();
  try {
    s.locked_pages = t.pages();
  } catch (...) {  // std::mutex::lock may throw system_error in theory
  }
  return s;
}

std::string to_hex(ByteView data) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(data.size() * 2);
  for (std::uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

template <class Out>
Out parse_hex(std::string_view hex, std::string_view what) {
  Out out;
  out.reserve(hex.size() / 2);
  int hi = -1;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char c = hex[i];
    if (c == ' ' || c == ':') {
      if (hi >= 0) throw GpError(Errc::InvalidHex, std::string(what) + ": separator inside a byte", i);
      continue;
    }
    int v = nibble(c);
    if (v < 0) throw GpError(Errc::InvalidHex, std::string(what) + ": not a hex digit '" + std::string(1, c) + "'", i);
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>((hi << 4) | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw GpError(Errc::InvalidHex, std::string(what) + ": odd number of hex digits");
  return out;
}
}  // namespace

Bytes from_hex(std::string_view hex, std::string_view what) { return parse_hex<Bytes>(hex, what); }

SecureBytes secure_from_hex(std::string_view hex, std::string_view what) {
  return parse_hex<SecureBytes>(hex, what);
}

Bytes concat(std::initializer_list<ByteView> parts) {
  std::size_t n = 0;
  for (auto p : parts) n += p.size();
  Bytes out;
  out.reserve(n);
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

void xor_into(std::span<std::uint8_t> a, ByteView b) {
  if (a.size() != b.size()) throw GpError(Errc::InvalidLength, "xor of buffers of different lengths");
  for (std::size_t i = 0; i < a.size(); ++i) a[i] ^= b[i];
}

bool equal_ct(ByteView a, ByteView b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::uint32_t read_be(ByteView v) {
  if (v.size() > 4) throw GpError(Errc::InvalidLength, "big-endian integer longer than 4 bytes");
  std::uint32_t r = 0;
  for (std::uint8_t b : v) r = (r << 8) | b;
  return r;
}

}  // namespace sekds::gp
