#include <gtest/gtest.h>

#include "security/jwt_codec.hpp"

using namespace sl;
using sl::security::jwt_codec;

namespace {
domain::token_claims claims(timestamp now) {
  return domain::token_claims{user_id::generate(), "alice", now, now + std::chrono::minutes(30), "jti-1"};
}
}  // namespace

TEST(Jwt, RoundTrip) {
  jwt_codec c("k" + std::string(40, 'x'));
  const auto now = system_clock{}.now();
  auto in = claims(now);
  auto out = c.decode(c.encode(in), now);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->sub, in.sub);
  EXPECT_EQ(out->username, "alice");
  EXPECT_EQ(out->jti, "jti-1");
}

TEST(Jwt, RejectsExpiredTamperedOtherKeyAndAlgNone) {
  jwt_codec c("secret-one-secret-one-secret-one-!!");
  jwt_codec other("secret-two-secret-two-secret-two-!!");
  const auto now = system_clock{}.now();
  const auto token = c.encode(claims(now));
  EXPECT_FALSE(c.decode(token, now + std::chrono::minutes(31)));
  EXPECT_FALSE(other.decode(token, now));
  auto tampered = token;
  tampered[tampered.find('.') + 5] ^= 1;
  EXPECT_FALSE(c.decode(tampered, now));
  const auto payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
  const auto none = security::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".";
  EXPECT_FALSE(c.decode(none, now));
  EXPECT_FALSE(c.decode("garbage", now));
  EXPECT_FALSE(c.decode("", now));
}
