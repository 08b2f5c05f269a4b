#include <gtest/gtest.h>

#include "transport/http/router.hpp"

using namespace sl::http;

namespace {
sl::task<response> ok(request&) { co_return response{}; }

request make(std::string method, const std::string& path, const std::string& target = {}) {
  request r;
  r.method = std::move(method);
  r.path = path;
  r.target = target.empty() ? path : target;
  return r;
}

router table() {
  router r;
  r.add("GET", "/api/v1/channels/", ok);
  r.add("POST", "/api/v1/channels/", ok);
  r.add("GET", "/api/v1/channels/{channel_id}", ok);
  r.add("DELETE", "/api/v1/channels/{channel_id}/members/{user_id}", ok);
  return r;
}
}  // namespace

TEST(Router, MatchesAndCapturesParams) {
  auto r = table();
  auto req = make("DELETE", "/api/v1/channels/abc/members/def");
  auto m = r.find(req);
  ASSERT_EQ(m.outcome, match::kind::found);
  EXPECT_EQ(req.params.at("channel_id"), "abc");
  EXPECT_EQ(req.params.at("user_id"), "def");
}

TEST(Router, RedirectsTheOtherSpellingKeepingTheQuery) {
  auto r = table();
  auto req = make("GET", "/api/v1/channels", "/api/v1/channels?skip=1");
  auto m = r.find(req);
  ASSERT_EQ(m.outcome, match::kind::redirect);
  EXPECT_EQ(m.location, "/api/v1/channels/?skip=1");
  auto req2 = make("GET", "/api/v1/channels/abc/");
  EXPECT_EQ(r.find(req2).location, "/api/v1/channels/abc");
}

TEST(Router, MethodNotAllowedAndNotFound) {
  auto r = table();
  auto req = make("PATCH", "/api/v1/channels/");
  auto m = r.find(req);
  EXPECT_EQ(m.outcome, match::kind::method_not_allowed);
  EXPECT_EQ(m.allowed.size(), 2u);
  auto req2 = make("GET", "/nothing/here");
  EXPECT_EQ(r.find(req2).outcome, match::kind::not_found);
  auto req3 = make("GET", "/api/v1/channels//members/x");
  EXPECT_NE(r.find(req3).outcome, match::kind::found);
}
