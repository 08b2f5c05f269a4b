#pragma once
// An executor that carries a trace_slot (base/trace_context.hpp): everything
// it runs, and so every resumption of a coroutine spawned on it, runs with
// that slot current. This is how a request's or a frame's span reaches the
// log lines and outbox events written after a co_await, on whatever thread
// the coroutine resumes.
//
// traced(ex) wraps `ex` with a new empty slot: spawn a connection's or a
// loop's coroutine on it, then begin_span() per request, frame or event.
// Children spawned on this_coro::executor share the slot. Work handed to
// other executors (thread pools) does not see it unless it carries it along.
//
// Thread-safety: copies share the slot, and the slot is not synchronised.
// The wrapped executor must run at most one handler of a slot at a time: an
// io_context run by one thread (as net::io_pool runs each of its contexts) or
// a strand. A multi-threaded io_context would let two handlers of one
// connection set and read the span concurrently.
//
// Cost: Asio rewraps the executor (prefer(outstanding_work.tracked)) for
// every completion handler, and any_io_executor stores a wrapper that does
// not fit its inline buffer on the heap. So an io_context executor is
// wrapped as its concrete type, which fits; anything else as any_io_executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include "base/trace_context.hpp"

namespace sl::net {

template <typename Inner>
class basic_traced_executor {
 public:
  using inner_type = Inner;

  basic_traced_executor(Inner inner, std::shared_ptr<trace_slot> slot) noexcept
      : inner_(std::move(inner)), slot_(std::move(slot)) {}

  template <typename Function>
  void execute(Function&& f) const {
    inner_.execute([slot = slot_, fn = std::forward<Function>(f)]() mutable {
      trace_scope scope(slot.get());
      std::move(fn)();
    });
  }

  template <typename Property>
  requires boost::asio::can_query<const Inner&, Property>::value decltype(auto) query(const Property& p) const {
    return boost::asio::query(inner_, p);
  }

  template <typename Property>
  requires boost::asio::can_require<const Inner&, Property>::value auto require(const Property& p) const {
    return rewrap(boost::asio::require(inner_, p));
  }

  template <typename Property>
  requires boost::asio::can_prefer<const Inner&, Property>::value auto prefer(const Property& p) const {
    return rewrap(boost::asio::prefer(inner_, p));
  }

  friend bool operator==(const basic_traced_executor& a, const basic_traced_executor& b) noexcept {
    return a.slot_ == b.slot_ && a.inner_ == b.inner_;
  }
  friend bool operator!=(const basic_traced_executor& a, const basic_traced_executor& b) noexcept { return !(a == b); }

 private:
  template <typename Other>
  basic_traced_executor<std::decay_t<Other>> rewrap(Other&& inner) const {
    return basic_traced_executor<std::decay_t<Other>>(std::forward<Other>(inner), slot_);
  }

  Inner inner_;
  std::shared_ptr<trace_slot> slot_;
};

namespace detail {

// The inline buffer of any_io_executor: 24 bytes on 64-bit Boost 1.81. Named
// through Asio's internals so that a Boost upgrade that changes it fails here.
constexpr std::size_t any_executor_inline_bytes =
    sizeof(boost::asio::execution::detail::any_executor_base::object_type);
static_assert(sizeof(basic_traced_executor<boost::asio::io_context::executor_type>) <= any_executor_inline_bytes,
              "a traced io_context executor must be stored inline in any_io_executor");
static_assert(sizeof(decltype(boost::asio::prefer(
                  std::declval<basic_traced_executor<boost::asio::io_context::executor_type>>(),
                  boost::asio::execution::outstanding_work.tracked))) <= any_executor_inline_bytes,
              "the tracked form, which Asio makes per handler, must be stored inline too");

inline boost::asio::any_io_executor traced(boost::asio::any_io_executor ex, std::shared_ptr<trace_slot> slot) {
  if (const auto* io = ex.target<boost::asio::io_context::executor_type>())
    return basic_traced_executor<boost::asio::io_context::executor_type>(*io, std::move(slot));
  return basic_traced_executor<boost::asio::any_io_executor>(std::move(ex), std::move(slot));
}

}  // namespace detail

// `ex` with a new trace slot, empty or holding `span`.
inline boost::asio::any_io_executor traced(boost::asio::any_io_executor ex) {
  return detail::traced(std::move(ex), std::make_shared<trace_slot>());
}
inline boost::asio::any_io_executor traced(boost::asio::any_io_executor ex, const trace_context& span) {
  return detail::traced(std::move(ex), std::make_shared<trace_slot>(trace_slot{span}));
}

}  // namespace sl::net
