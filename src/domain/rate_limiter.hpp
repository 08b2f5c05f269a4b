#pragma once
// Token bucket per user for message sends (REST and WebSocket together):
// `burst` tokens, refilled at `per_minute`/60 per second. In process;
// thread-safe; idle buckets are forgotten.

#include <mutex>
#include <unordered_map>

#include "base/time.hpp"
#include "base/uuid.hpp"

namespace sl::domain {

struct rate_limit_settings {
  bool enabled = true;
  double burst = 100;
  double per_minute = 1200;
};

class rate_limiter {
 public:
  explicit rate_limiter(rate_limit_settings s) : s_(s) {}
  // Takes one token; false when the bucket is empty.
  bool try_acquire(const user_id& u, timestamp now);

 private:
  struct bucket {
    double tokens;
    timestamp at;
  };
  rate_limit_settings s_;
  std::mutex mu_;
  std::unordered_map<user_id, bucket, uuid_hash> buckets_;
};

}  // namespace sl::domain
