// The suite's entry point. Asked for the Kafka tests (a filter starting with
// "kafka/") without SIGNALINK_TEST_KAFKA_BOOTSTRAP, it exits with 77, which
// ctest reports as skipped: never a silent pass.

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "event_log_fixture.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string filter = GTEST_FLAG_GET(filter);
  if (filter.rfind("kafka/", 0) == 0 && !sl::test::kafka_test_bootstrap()) {
    std::fprintf(stderr, "SIGNALINK_TEST_KAFKA_BOOTSTRAP is not set: the Kafka backend is not tested\n");
    return 77;
  }
  return RUN_ALL_TESTS();
}
