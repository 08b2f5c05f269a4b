#pragma once
// offload(pool, fn): runs the blocking callable `fn` on `pool` and resumes the
// awaiting coroutine on its own executor with fn's result, or rethrows what fn
// threw. The I/O thread is free while fn runs. `fn` is moved into the pool job.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>

namespace sl::net {

namespace detail {
template <typename T>
struct offload_value {
  using type = std::optional<T>;
};
template <>
struct offload_value<void> {
  using type = bool;
};
}  // namespace detail

template <typename Executor, typename Fn>
auto offload(Executor pool, Fn fn) -> boost::asio::awaitable<std::invoke_result_t<Fn&>> {
  using T = std::invoke_result_t<Fn&>;
  using V = typename detail::offload_value<T>::type;
  auto init = [pool](auto handler, Fn f) {
    auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
    boost::asio::post(pool, [f = std::move(f), handler = std::move(handler), work = std::move(work)]() mutable {
      std::exception_ptr ep;
      V value{};
      try {
        if constexpr (std::is_void_v<T>) {
          f();
          value = true;
        } else {
          value.emplace(f());
        }
      } catch (...) {
        ep = std::current_exception();
      }
      auto ex = work.get_executor();
      boost::asio::dispatch(ex, [handler = std::move(handler), ep, value = std::move(value)]() mutable {
        std::move(handler)(ep, std::move(value));
      });
    });
  };
  V v = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, V)>(
      std::move(init), boost::asio::use_awaitable, std::move(fn));
  if constexpr (!std::is_void_v<T>) co_return std::move(*v);
}

}  // namespace sl::net
