#include "service/rate_limiter.h"

#include <algorithm>

namespace sekds::service {

RateLimiter::RateLimiter(double rate_per_second, double burst)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)) {}

bool RateLimiter::allow(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return true;
  std::lock_guard lock(mu_);
  // Full buckets carry no information: drop them now and then so the map stays small.
  if (buckets_.size() > 4096) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double elapsed = std::chrono::duration<double>(now - it->second.last).count();
      if (it->second.tokens + elapsed * rate_ >= burst_) it = buckets_.erase(it);
      else ++it;
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::chrono::duration<double>(now - b.last).count();
    if (elapsed > 0) {  // calls from several threads may arrive slightly out of order
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
      b.last = now;
    }
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace sekds::service
