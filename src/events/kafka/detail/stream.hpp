#pragma once
// kafka_stream: one event_stream, one librdkafka high-level consumer (its own
// group member), driven without blocking an I/O thread.
//
// The consumer queue (where records, errors and rebalances arrive; the main
// queue is forwarded to it) and a reply queue (offset commit results, and the
// rebalances of leaving the group) each have a queue_wakeup: poll() serves the
// consumer queue with rd_kafka_consumer_poll(rk, 0) and waits on its wakeup
// and a timer; commit() sends an asynchronous commit whose result comes back
// on the reply queue; close() leaves the group with
// rd_kafka_consumer_close_queue and serves the reply queue until it is done.
// lag() needs blocking librdkafka calls (committed offsets, watermarks): they
// run on blocking_pool(). Metadata and watermarks are asked through another
// client (the log's producer): the consumer's connection to a partition's
// leader is busy with a long-polling fetch (up to fetch.wait.max.ms, 500 ms),
// and a broker answers one connection's requests in order.
//
// Threads: one coroutine at a time (the port's rule), on any executor.
// Lifetime: the destructor of an open stream drops the consumer without
// leaving the group (the group notices after its session timeout), and the
// consumer's destruction runs on blocking_pool().

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "domain/event_log.hpp"
#include "events/kafka/detail/client.hpp"
#include "events/kafka/detail/queue_wakeup.hpp"
#include "events/kafka/kafka_log.hpp"

namespace sl::events::kafka::detail {

class kafka_stream final : public domain::event_stream {
 public:
  using clock = std::chrono::steady_clock;

  // Creates the consumer and subscribes (the group is joined on the first
  // polls); `other` answers lag()'s metadata and watermark requests. Throws
  // std::invalid_argument for settings librdkafka refuses and kafka_error
  // when the subscription is refused.
  kafka_stream(const boost::asio::any_io_executor& ex, const kafka_settings& s, std::string group,
               std::vector<std::string> topics, std::shared_ptr<client> other);
  ~kafka_stream() override;

  task<std::vector<domain::log_event>> poll(std::size_t max, std::chrono::milliseconds wait) override;
  task<void> commit(const std::vector<domain::log_event>& handled) override;
  task<std::int64_t> lag() override;
  task<void> close() override;

 private:
  void take(std::vector<domain::log_event>& out, std::size_t max);
  void release_queues() noexcept;

  std::shared_ptr<client> client_;
  std::shared_ptr<client> other_;
  queue_ptr consumer_queue_;
  std::unique_ptr<queue_wakeup> consumer_wakeup_;
  queue_ptr reply_queue_;
  std::unique_ptr<queue_wakeup> reply_wakeup_;
  std::string group_;
  std::vector<std::string> topics_;
  std::chrono::milliseconds request_timeout_;
  std::uintptr_t commits_ = 0;  // tags each commit's result
  bool closed_ = false;
};

// The lag of `consumer`'s group over every partition of `topics`: the high
// watermark minus the committed offset (the low watermark where none is).
// Blocking: the committed offsets through `consumer` (its group
// coordinator), metadata and watermarks through `other`, each request within
// what is left until `deadline`. Throws kafka_error.
std::int64_t group_lag(rd_kafka_t* consumer, rd_kafka_t* other, const std::vector<std::string>& topics,
                       std::chrono::steady_clock::time_point deadline);

}  // namespace sl::events::kafka::detail
