#pragma once
// queue_wakeup: tells Asio when a librdkafka queue has something to serve.
// librdkafka writes to a file descriptor when an element arrives on a queue
// that was empty (rd_kafka_queue_io_event_enable), once per period between
// two reads of the queue; here that descriptor is a non-blocking eventfd
// watched by an asio::posix::stream_descriptor. The owner's loop is:
// clear(), serve the queue with non-blocking polls until it is empty (or as
// far as it wants), then wait; anything that arrives after the serve wakes the
// wait. Serving only part of the queue is fine as long as the owner serves
// again before it waits.
//
// Threads: one waiter at a time; clear() and the waits from the executor's
// thread(s) the owner uses, as for any Asio I/O object.
// Lifetime: the queue must outlive this object; the destructor detaches the
// descriptor from the queue (librdkafka stops writing), then closes it.
// Pending waits must have completed (cancel() them first).

#include <librdkafka/rdkafka.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <chrono>

#include "base/task.hpp"

namespace sl::events::kafka::detail {

class queue_wakeup {
 public:
  using clock = std::chrono::steady_clock;

  // Creates the eventfd and enables `q`'s IO event on it. Throws
  // std::system_error when the descriptor cannot be created.
  queue_wakeup(const boost::asio::any_io_executor& ex, rd_kafka_queue_t* q);
  ~queue_wakeup();
  queue_wakeup(const queue_wakeup&) = delete;
  queue_wakeup& operator=(const queue_wakeup&) = delete;

  // Forgets the wake-ups received so far; call right before serving the queue.
  void clear() noexcept;
  // Waits until the queue received something after the last clear(), or
  // until `deadline`. True when woken (or cancelled), false at the deadline.
  task<bool> wait_until(clock::time_point deadline);
  // Callback form: `fn(ec)` when woken; operation_aborted after cancel().
  template <typename Handler>
  void async_wait(Handler&& fn) {
    fd_.async_wait(boost::asio::posix::stream_descriptor::wait_read, std::forward<Handler>(fn));
  }
  void cancel() noexcept;

 private:
  rd_kafka_queue_t* queue_;
  boost::asio::posix::stream_descriptor fd_;
};

}  // namespace sl::events::kafka::detail
