#include <gtest/gtest.h>

#include <set>

#include "base/uuid.hpp"

using sl::uuid;

TEST(Uuid, RoundTripsCanonicalText) {
  const std::string text = "0192f3a4-5b6c-7d8e-9f01-23456789abcd";
  auto u = uuid::parse(text);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->str(), text);
}

TEST(Uuid, AcceptsUppercaseAndSimpleFormOutputsLowercase) {
  auto u = uuid::parse("0192F3A45B6C7D8E9F0123456789ABCD");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->str(), "0192f3a4-5b6c-7d8e-9f01-23456789abcd");
}

TEST(Uuid, RejectsMalformedWithReason) {
  std::string why;
  EXPECT_FALSE(uuid::parse("not-a-uuid", &why));
  EXPECT_NE(why.find("invalid length"), std::string::npos);
  EXPECT_FALSE(uuid::parse("0192f3a4-5b6c-7d8e-9f01-23456789abcz", &why));
  EXPECT_NE(why.find("invalid character"), std::string::npos);
  EXPECT_FALSE(uuid::parse("0192f3a4x5b6c-7d8e-9f01-23456789abc", &why));
}

TEST(Uuid, V7IsVersionedTimeOrderedAndUnique) {
  std::set<std::string> seen;
  std::string prev;
  const auto now = std::chrono::system_clock::now();
  for (int i = 0; i < 10000; ++i) {
    auto s = uuid::v7(now).str();
    EXPECT_EQ(s[14], '7');
    EXPECT_TRUE(s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
    EXPECT_GT(s, prev);
    prev = s;
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 10000u);
}
