#include <gtest/gtest.h>

#include "domain/login_throttle.hpp"
#include "domain/rate_limiter.hpp"

using namespace sl;
using namespace sl::domain;

TEST(LoginThrottle, BlocksAUsernameAfterItsLimitUntilTheWindowPasses) {
  login_throttle t({3, 100, std::chrono::seconds(60)});
  const auto t0 = from_unix_micros(1'000'000'000'000);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(t.blocked("bob", "1.2.3.4", t0));
    t.failed("bob", "1.2.3.4", t0);
  }
  EXPECT_TRUE(t.blocked("bob", "5.6.7.8", t0));
  EXPECT_FALSE(t.blocked("carol", "5.6.7.8", t0));
  EXPECT_FALSE(t.blocked("bob", "1.2.3.4", t0 + std::chrono::seconds(61)));
}

TEST(LoginThrottle, BlocksAnAddressSprayingUsernames) {
  login_throttle t({100, 4, std::chrono::seconds(60)});
  const auto t0 = from_unix_micros(1'000'000'000'000);
  for (int i = 0; i < 4; ++i) t.failed("user" + std::to_string(i), "9.9.9.9", t0);
  EXPECT_TRUE(t.blocked("someone-else", "9.9.9.9", t0));
  EXPECT_FALSE(t.blocked("someone-else", "8.8.8.8", t0));
}

TEST(RateLimiter, BurstThenRefill) {
  rate_limiter r({true, 5, 60});  // 1 per second
  const auto u = user_id::generate();
  const auto t0 = from_unix_micros(1'000'000'000'000);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(r.try_acquire(u, t0));
  EXPECT_FALSE(r.try_acquire(u, t0));
  EXPECT_TRUE(r.try_acquire(u, t0 + std::chrono::milliseconds(1100)));
  EXPECT_FALSE(r.try_acquire(u, t0 + std::chrono::milliseconds(1200)));
}

TEST(RateLimiter, DisabledAllowsEverything) {
  rate_limiter r({false, 1, 1});
  const auto u = user_id::generate();
  const auto t0 = from_unix_micros(0);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(r.try_acquire(u, t0));
}
