// The suite's entry point. Asked for the PostgreSQL tests (a filter starting
// with "postgres") without SIGNALINK_TEST_PG_URL, it exits with 77, which
// ctest reports as skipped: never a silent pass.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "test_database.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string filter = GTEST_FLAG_GET(filter);
  if (filter.rfind("postgres", 0) == 0 && !sl::test::postgres_admin_url()) {
    std::fprintf(stderr, "SIGNALINK_TEST_PG_URL is not set: the PostgreSQL backend is not tested\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}
