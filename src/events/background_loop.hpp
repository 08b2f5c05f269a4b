#pragma once
// One long-running coroutine on an executor (the relay's loop, a consumer's
// loop) with what such loops need: an interruptible sleep, a wake-up, and a
// stop that waits for the loop to end. The loop reads stopping() and returns.
//
// Threads: start(), wake() and stop() from any thread; sleep() and
// stopping() from the loop. Lifetime: outlives the loop (stop() first).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "base/task.hpp"

namespace sl::events {

class background_loop {
 public:
  explicit background_loop(boost::asio::any_io_executor ex);

  const boost::asio::any_io_executor& executor() const noexcept { return ex_; }
  // Runs `body()` (a call of a named coroutine) until it returns; a failure
  // is logged as "<what> stopped".
  void start(std::function<task<void>()> body, std::string what);
  // Asks the loop to stop, wakes it, and waits until it returned.
  task<void> stop();
  // Ends a sleep() early (from any thread).
  void wake();

  bool stopping() const noexcept { return stopping_; }
  // Sleeps `d`, or less when woken or stopped.
  task<void> sleep(std::chrono::milliseconds d);

 private:
  task<void> wait_stopped();

  boost::asio::any_io_executor ex_;
  boost::asio::steady_timer wake_;
  boost::asio::steady_timer done_;  // never expires: cancelled when the loop ends
  bool stopping_ = false;
  bool running_ = false;
};

}  // namespace sl::events
