#pragma once
// Runs a coroutine to completion on an io_context from the test thread, for
// tests whose context also runs work that never ends by itself (timers,
// background loops): the context runs in slices until the result is ready.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <type_traits>

namespace sl::test {

namespace detail {
// co_spawn's future needs a default-constructible value.
template <typename T>
boost::asio::awaitable<std::optional<T>> boxed_result(boost::asio::awaitable<T> aw) {
  co_return std::optional<T>(co_await std::move(aw));
}
}  // namespace detail

// `aw`'s value, or what it threw.
template <typename T>
T await_in(boost::asio::io_context& ctx, boost::asio::awaitable<T> aw) {
  using namespace std::chrono_literals;
  auto drive = [&ctx](auto& f) {
    ctx.restart();
    while (f.wait_for(0s) != std::future_status::ready) ctx.run_for(10ms);
  };
  if constexpr (std::is_void_v<T>) {
    auto f = boost::asio::co_spawn(ctx, std::move(aw), boost::asio::use_future);
    drive(f);
    f.get();
  } else {
    auto f = boost::asio::co_spawn(ctx, detail::boxed_result(std::move(aw)), boost::asio::use_future);
    drive(f);
    return std::move(*f.get());
  }
}

// Runs `ctx` in slices until `done()` or `deadline`; returns done().
template <typename Pred>
bool run_until(boost::asio::io_context& ctx, Pred done,
               std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  ctx.restart();
  while (!done() && std::chrono::steady_clock::now() < end) ctx.run_for(std::chrono::milliseconds(10));
  return done();
}

}  // namespace sl::test
