#include "events/background_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "net/traced_executor.hpp"

namespace sl::events {
namespace {
namespace asio = boost::asio;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

background_loop::background_loop(asio::any_io_executor ex)
    : ex_(std::move(ex)), wake_(ex_), done_(ex_, asio::steady_timer::time_point::max()) {}

void background_loop::start(std::function<task<void>()> body, std::string what) {
  stopping_ = false;
  running_ = true;
  // Traced, so that a loop can run each event it handles as a span of its own.
  asio::co_spawn(net::traced(ex_), body(), [this, what = std::move(what)](const std::exception_ptr& ep) {
    if (ep) log::error(what + " stopped", {{"error", log::describe(ep)}});
    running_ = false;
    done_.cancel();
  });
}

void background_loop::wake() {
  asio::post(ex_, [this] { wake_.cancel(); });
}

task<void> background_loop::stop() { co_await asio::co_spawn(ex_, wait_stopped(), asio::use_awaitable); }

task<void> background_loop::wait_stopped() {
  stopping_ = true;
  wake_.cancel();
  while (running_) co_await done_.async_wait(use_tuple);
}

task<void> background_loop::sleep(std::chrono::milliseconds d) {
  if (stopping_) co_return;
  wake_.expires_after(d);
  co_await wake_.async_wait(use_tuple);
}

}  // namespace sl::events
