// The suite's entry point. Asked for the Redis tests (a filter starting with
// "redis/") without SIGNALINK_TEST_REDIS_URL, it exits with 77, which ctest
// reports as skipped: never a silent pass.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "broker_fixture.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string filter = GTEST_FLAG_GET(filter);
  if (filter.rfind("redis/", 0) == 0 && !sl::test::redis_test_url()) {
    std::fprintf(stderr, "SIGNALINK_TEST_REDIS_URL is not set: the Redis backend is not tested\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}
