#pragma once
// The store contract fixture: a fresh database of the parameter's backend
// per test, an io_context run on the test thread by run(), a deterministic
// clock, and helpers that create users, channels and messages.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "domain/store.hpp"
#include "test_database.hpp"

namespace sl::test {

namespace detail {
// co_spawn's future needs a default-constructible value; result<T> is not.
template <typename T>
boost::asio::awaitable<std::optional<T>> boxed(boost::asio::awaitable<T> aw) {
  co_return std::optional<T>(co_await std::move(aw));
}
}  // namespace detail

// Runs `aw` on `ctx` (on this thread) until it completes; returns its value
// or rethrows its exception.
template <typename T>
T run(boost::asio::io_context& ctx, boost::asio::awaitable<T> aw) {
  if constexpr (std::is_void_v<T>) {
    auto done = boost::asio::co_spawn(ctx, std::move(aw), boost::asio::use_future);
    ctx.restart();
    ctx.run();
    done.get();
  } else {
    auto done = boost::asio::co_spawn(ctx, detail::boxed(std::move(aw)), boost::asio::use_future);
    ctx.restart();
    ctx.run();
    return std::move(*done.get());
  }
}

// Backends to instantiate the suite with: PostgreSQL only when configured.
std::vector<backend> postgres_if_configured();
std::string backend_name(const testing::TestParamInfo<backend>& info);

class store_contract : public testing::TestWithParam<backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  domain::store& db() { return *store_; }
  template <typename T>
  T run(boost::asio::awaitable<T> aw) {
    return test::run(ctx_, std::move(aw));
  }

  // A time strictly after the previous one (1 ms steps from a fixed epoch).
  timestamp tick();

  domain::user make_user(const std::string& username, std::optional<std::string> full_name = {});
  domain::channel make_channel(const domain::user& owner, const std::string& name, bool is_private = false);
  domain::member join(const domain::channel& c, const domain::user& u, domain::role r = domain::role::member);
  domain::new_message draft(const domain::user& author, const domain::channel& c, const std::string& content);
  domain::created_message send(const domain::user& author, const domain::channel& c, const std::string& content);
  domain::created_message send(domain::new_message m);
  // Sends `messages` concurrently, queued in this order (so that a group
  // commit writes them together), and returns each one's outcome in the same
  // order. Throws if a send throws.
  std::vector<result<domain::created_message>> send_together(std::vector<domain::new_message> messages);
  // Seqs of the channel's listed history (ascending).
  std::vector<std::int64_t> seqs(const domain::channel& c, domain::history_query q);
  // Event types of the outbox, in order.
  std::vector<std::string> outbox_types();
  std::vector<outbox_row> outbox() { return database_->outbox(); }

  boost::asio::io_context ctx_;
  std::unique_ptr<test_database> database_;
  std::unique_ptr<domain::store> store_;
  timestamp clock_;
};

}  // namespace sl::test
