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
// Copies share the slot; thread-safe as the wrapped executor is.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <memory>
#include <utility>

#include "base/trace_context.hpp"

namespace sl::net {

class traced_executor {
 public:
  using inner_type = boost::asio::any_io_executor;

  traced_executor(inner_type inner, std::shared_ptr<trace_slot> slot) noexcept
      : inner_(std::move(inner)), slot_(std::move(slot)) {}

  template <typename Function>
  void execute(Function&& f) const {
    inner_.execute([slot = slot_, fn = std::forward<Function>(f)]() mutable {
      trace_scope scope(slot.get());
      std::move(fn)();
    });
  }

  template <typename Property>
  requires boost::asio::can_query<const inner_type&, Property>::value decltype(auto) query(const Property& p) const {
    return boost::asio::query(inner_, p);
  }

  template <typename Property>
  requires boost::asio::can_require<const inner_type&, Property>::value traced_executor require(const Property& p)
  const { return traced_executor(boost::asio::require(inner_, p), slot_); }

  template <typename Property>
  requires boost::asio::can_prefer<const inner_type&, Property>::value traced_executor prefer(const Property& p)
  const { return traced_executor(boost::asio::prefer(inner_, p), slot_); }

  friend bool operator==(const traced_executor& a, const traced_executor& b) noexcept {
    return a.slot_ == b.slot_ && a.inner_ == b.inner_;
  }
  friend bool operator!=(const traced_executor& a, const traced_executor& b) noexcept { return !(a == b); }

 private:
  inner_type inner_;
  std::shared_ptr<trace_slot> slot_;
};

// `ex` with a new trace slot, empty or holding `span`.
inline boost::asio::any_io_executor traced(boost::asio::any_io_executor ex) {
  return traced_executor(std::move(ex), std::make_shared<trace_slot>());
}
inline boost::asio::any_io_executor traced(boost::asio::any_io_executor ex, const trace_context& span) {
  return traced_executor(std::move(ex), std::make_shared<trace_slot>(trace_slot{span}));
}

}  // namespace sl::net
