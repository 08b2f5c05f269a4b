// auth_service against a real SQLite store: concurrent authentications of
// one user (a client opening many sockets at once) read that user from the
// store once, whatever the answer.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "await_in.hpp"
#include "domain/auth_service.hpp"
#include "security/argon2_hasher.hpp"
#include "security/jwt_codec.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace sl {
namespace {

namespace asio = boost::asio;

class AuthTest : public testing::Test {
 protected:
  AuthTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("sl-auth-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))),
        db_(storage::sqlite::open({(dir_ / "t.db").string(), 2})),
        hasher_(security::hash_cost::fast, 1),
        codec_(std::string(32, 'k')),
        auth_(*db_, hasher_, codec_, clk_, settings()) {}
  ~AuthTest() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static domain::auth_settings settings() {
    domain::auth_settings s;
    s.user_cache_ttl = std::chrono::seconds(0);  // every authentication misses the cache
    return s;
  }
  std::string token_of(const std::string& name) {
    auto r = test::await_in(ctx_, auth_.register_user({name, name + "@example.com", "password123", std::nullopt}));
    EXPECT_TRUE(r);
    auto t = test::await_in(ctx_, auth_.login(name, "password123", "127.0.0.1", "test"));
    EXPECT_TRUE(t);
    return t->access_token;
  }

  // `n` authentications of `token`, all started before any runs.
  std::vector<result<domain::principal>> authenticate_together(const std::string& token, int n) {
    std::vector<std::future<std::optional<result<domain::principal>>>> started;
    for (int i = 0; i < n; ++i)
      started.push_back(asio::co_spawn(ctx_, test::detail::boxed_result(auth_.authenticate(token)), asio::use_future));
    ctx_.restart();
    std::vector<result<domain::principal>> out;
    for (auto& f : started) {
      while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
        ctx_.run_for(std::chrono::milliseconds(5));
      out.push_back(std::move(*f.get()));
    }
    return out;
  }

  std::filesystem::path dir_;
  asio::io_context ctx_;
  system_clock clk_;
  std::unique_ptr<domain::store> db_;
  security::argon2_hasher hasher_;
  security::jwt_codec codec_;
  domain::auth_service auth_;
};

TEST_F(AuthTest, ConcurrentAuthenticationsOfOneUserReadItOnce) {
  const auto token = token_of("many");
  const auto before = auth_.user_fetches();
  // All started before any of them runs: the first reads the store, the
  // others find its read in flight and wait for it.
  for (const auto& p : authenticate_together(token, 20)) {
    ASSERT_TRUE(p);
    EXPECT_EQ(p->username, "many");
  }
  EXPECT_EQ(auth_.user_fetches() - before, 1u);

  // Once that read is over, the next miss reads again (the cache TTL is 0).
  ASSERT_TRUE(static_cast<bool>(test::await_in(ctx_, auth_.authenticate(token))));
  EXPECT_EQ(auth_.user_fetches() - before, 2u);
}

TEST_F(AuthTest, WaitersOfAReadLearnAboutAMissingUserToo) {
  // A well-signed token of a user the store does not have.
  const auto now = clk_.now();
  const auto token = codec_.encode({user_id::generate(), "ghost", now, now + std::chrono::minutes(5), "jti-ghost"});
  const auto before = auth_.user_fetches();
  for (const auto& p : authenticate_together(token, 5)) {
    ASSERT_FALSE(p);
    EXPECT_EQ(p.err().kind, error_kind::unauthorized);
  }
  EXPECT_EQ(auth_.user_fetches() - before, 1u);
}

}  // namespace
}  // namespace sl
