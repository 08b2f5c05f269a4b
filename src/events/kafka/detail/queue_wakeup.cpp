#include "events/kafka/detail/queue_wakeup.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace sl::events::kafka::detail {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

int make_eventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "kafka: eventfd");
  return fd;
}

}  // namespace

queue_wakeup::queue_wakeup(const asio::any_io_executor& ex, rd_kafka_queue_t* q) : queue_(q), fd_(ex, make_eventfd()) {
  // An eventfd takes 8-byte increments; librdkafka keeps its own copy of the payload.
  static constexpr std::uint64_t one = 1;
  rd_kafka_queue_io_event_enable(queue_, fd_.native_handle(), &one, sizeof one);
}

queue_wakeup::~queue_wakeup() {
  // Under the queue's lock: once this returns librdkafka no longer writes to the fd.
  rd_kafka_queue_io_event_enable(queue_, -1, nullptr, 0);
  boost::system::error_code ignored;
  fd_.close(ignored);
}

void queue_wakeup::clear() noexcept {
  std::uint64_t count = 0;
  // Non-blocking: EAGAIN when nothing was written since the last read.
  while (::read(fd_.native_handle(), &count, sizeof count) == static_cast<ssize_t>(sizeof count)) {
  }
}

task<bool> queue_wakeup::wait_until(clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto r =
      co_await (fd_.async_wait(asio::posix::stream_descriptor::wait_read, use_tuple) || timer.async_wait(use_tuple));
  co_return r.index() == 0;
}

void queue_wakeup::cancel() noexcept {
  boost::system::error_code ignored;
  fd_.cancel(ignored);
}

}  // namespace sl::events::kafka::detail
