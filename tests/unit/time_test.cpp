#include <gtest/gtest.h>

#include "base/time.hpp"

using namespace sl;

TEST(Time, FormatsIsoWithMicrosecondsAndZ) {
  const auto t = from_unix_micros(1795860303123456);
  EXPECT_EQ(format_iso(t), "2026-11-28T10:05:03.123456Z");
}

TEST(Time, ParsesWhatItFormatsAndCommonVariants) {
  const auto t = from_unix_micros(1795860303123456);
  EXPECT_EQ(parse_iso(format_iso(t)), t);
  EXPECT_EQ(parse_iso("2026-11-28T10:05:03.123456+00:00"), t);
  EXPECT_EQ(parse_iso("2026-11-28T10:05:03Z"), from_unix_micros(1795860303000000));
  EXPECT_FALSE(parse_iso("2026-13-28T10:05:03Z"));
  EXPECT_FALSE(parse_iso("yesterday"));
}
