// The wiping allocator's page locking (mlock + MADV_DONTDUMP, refcounted per page) and
// SecureText keeping every byte in a wiped block (no inline SSO buffer).
#include <sys/resource.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "gp/bytes.h"

using namespace sekds;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMlockIsReal = false;  // ASan's mlock interceptor does nothing and says 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kMlockIsReal = false;
#else
constexpr bool kMlockIsReal = true;
#endif
#else
constexpr bool kMlockIsReal = true;
#endif

std::uintptr_t page_of(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) & ~(static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE)) - 1);
}

// The VmFlags of the mapping holding `p` in /proc/self/smaps ("lo" locked, "dd" not dumped).
std::string vm_flags(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::ifstream in("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-' && line.find(':') > line.find(' ')) {
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
  }
  return "";
}
bool has_flag(const void* p, const char* flag) { return vm_flags(p).find(std::string(" ") + flag + " ") != std::string::npos; }

// mlock may be capped at 64 KiB: take what the hard limit allows (root: anything).
void raise_memlock() {
  rlimit r{};
  ::getrlimit(RLIMIT_MEMLOCK, &r);
  rlimit want{RLIM_INFINITY, RLIM_INFINITY};
  if (::setrlimit(RLIMIT_MEMLOCK, &want) != 0) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_MEMLOCK, &r);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(secure_memory)

// A basic_string kept "1234567" in its inline buffer, inside the object, where no allocator
// wipes it: after destruction the digits were still in the object's storage.
BOOST_AUTO_TEST_CASE(secure_text_keeps_no_byte_inside_the_object) {
  alignas(gp::SecureText) unsigned char storage[sizeof(gp::SecureText)] = {};
  auto* t = new (storage) gp::SecureText();
  const std::string secret = "1234567";
  t->insert(t->end(), secret.begin(), secret.end());
  BOOST_TEST(std::string(t->begin(), t->end()) == secret);
  const char* data = t->data();
  const bool inline_buffer = data >= reinterpret_cast<const char*>(storage) &&
                             data < reinterpret_cast<const char*>(storage) + sizeof storage;
  BOOST_TEST(!inline_buffer, "SecureText keeps its characters inside the object (SSO)");
  std::destroy_at(t);
  const std::string_view left(reinterpret_cast<const char*>(storage), sizeof storage);
  BOOST_TEST(left.find(secret) == std::string_view::npos, "the secret survived destruction");
}

BOOST_AUTO_TEST_CASE(secure_text_view) {
  gp::SecureText t{'a', 'b'};
  BOOST_TEST(gp::text_view(t) == "ab");
}

BOOST_AUTO_TEST_CASE(secrets_are_locked_and_left_out_of_dumps) {
  raise_memlock();
  const auto before = gp::secure_memory_stats();
  {
    gp::SecureBytes key(3 * 4096 + 100, 0x5A);  // spans whole pages
    const auto during = gp::secure_memory_stats();
    BOOST_TEST(during.allocations == before.allocations + 1);
    BOOST_TEST(during.locked_pages >= before.locked_pages + 3);
    BOOST_TEST(has_flag(key.data() + 4096, "dd"), vm_flags(key.data() + 4096));
    if (kMlockIsReal) {
      BOOST_TEST(during.lock_failures == before.lock_failures);
      BOOST_TEST(has_flag(key.data() + 4096, "lo"), vm_flags(key.data() + 4096));
    }
  }
  BOOST_TEST(gp::secure_memory_stats().locked_pages == before.locked_pages);
}

// mlock is per page and small secrets share pages: releasing one must not unlock the page
// under another.
BOOST_AUTO_TEST_CASE(a_shared_page_stays_locked_until_its_last_secret_goes) {
  raise_memlock();
  std::vector<gp::SecureBytes> keys;
  for (int i = 0; i < 64; ++i) keys.emplace_back(16, static_cast<std::uint8_t>(i));
  std::map<std::uintptr_t, std::vector<std::size_t>> by_page;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (page_of(keys[i].data()) == page_of(keys[i].data() + 15)) by_page[page_of(keys[i].data())].push_back(i);
  const auto shared = std::find_if(by_page.begin(), by_page.end(), [](const auto& kv) { return kv.second.size() >= 2; });
  BOOST_REQUIRE(shared != by_page.end());
  const std::size_t first = shared->second[0], second = shared->second[1];
  const std::uint8_t* survivor = keys[second].data();
  keys[first] = gp::SecureBytes();  // released
  BOOST_TEST(has_flag(survivor, "dd"), vm_flags(survivor));
  if (kMlockIsReal) BOOST_TEST(has_flag(survivor, "lo"), vm_flags(survivor));
  keys.clear();
}

BOOST_AUTO_TEST_CASE(an_allocation_the_kernel_cannot_lock_still_succeeds) {
  rlimit saved{};
  ::getrlimit(RLIMIT_MEMLOCK, &saved);
  rlimit none{0, saved.rlim_max};
  BOOST_REQUIRE(::setrlimit(RLIMIT_MEMLOCK, &none) == 0);
  const auto before = gp::secure_memory_stats();
  {
    gp::SecureBytes key(5 * 4096, 0x11);
    BOOST_TEST(key[4096] == 0x11);
    // Root (CAP_IPC_LOCK) locks past the limit; anyone else is refused, and it is counted.
    if (::geteuid() != 0 && kMlockIsReal) BOOST_TEST(gp::secure_memory_stats().lock_failures >= before.lock_failures + 5);
  }
  ::setrlimit(RLIMIT_MEMLOCK, &saved);
}

BOOST_AUTO_TEST_SUITE_END()
