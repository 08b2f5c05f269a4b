#include "domain/rate_limiter.hpp"

#include <algorithm>

namespace sl::domain {

bool rate_limiter::try_acquire(const user_id& u, timestamp now) {
  if (!s_.enabled) return true;
  const double rate = s_.per_minute / 60.0;
  std::lock_guard lock(mu_);
  if (buckets_.size() > 100000)
    std::erase_if(buckets_, [&](auto& kv) {
      return std::chrono::duration<double>(now - kv.second.at).count() * rate >= s_.burst;
    });
  auto [it, fresh] = buckets_.try_emplace(u, bucket{s_.burst, now});
  auto& b = it->second;
  if (!fresh) {
    const double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(s_.burst, b.tokens + std::max(0.0, elapsed) * rate);
    b.at = std::max(b.at, now);
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

}  // namespace sl::domain
