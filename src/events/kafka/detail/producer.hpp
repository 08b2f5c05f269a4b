#pragma once
// producer: the log's idempotent librdkafka producer, served on an Asio strand.
//
// Delivery reports and errors arrive as events on librdkafka's main queue;
// a queue_wakeup tells the strand when the queue has some, and the strand
// serves it with non-blocking polls (rd_kafka_queue_poll(q, 0)). Each append
// is a batch: its records carry the batch as their opaque, each report counts
// down the batch, and the last one wakes the append (a timer cancelled on the
// strand, whose expiry is the append's deadline). When librdkafka's queue is
// full, the append waits for the next reports (which free room) and retries
// the record, in order: never a busy loop.
//
// Threads: every member runs on the strand (callers co_spawn there); the
// client may be used from any thread for admin and metadata requests.
// Lifetime: shared; serving holds a reference until close(). A batch whose
// append gave up (deadline) stays until its reports arrive or the producer
// closes.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/task.hpp"
#include "domain/event_log.hpp"
#include "events/kafka/detail/client.hpp"
#include "events/kafka/detail/queue_wakeup.hpp"
#include "events/kafka/kafka_log.hpp"

namespace sl::events::kafka::detail {

class producer : public std::enable_shared_from_this<producer> {
 public:
  using clock = std::chrono::steady_clock;
  using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

  // Creates the librdkafka producer and starts serving its queue on
  // `strand`. Throws std::invalid_argument for settings librdkafka refuses.
  static std::shared_ptr<producer> open(strand_type strand, const kafka_settings& s);
  ~producer();
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  // Produces every event and waits for every delivery report; throws
  // kafka_error when one failed, when the reports are not all back by
  // delivery_timeout + 1 s, or after close().
  task<void> append(std::vector<domain::log_event> events);
  // Waits until no record is in flight, or until `deadline` (false then).
  task<bool> drain(clock::time_point deadline);
  // Stops serving; appends still waiting throw. Returns the client (drop it
  // on blocking_pool() to wait for its destruction). Idempotent.
  std::shared_ptr<client> close();

  const std::shared_ptr<client>& instance() const noexcept { return client_; }

 private:
  struct batch;

  producer(strand_type strand, std::shared_ptr<client> c, const kafka_settings& s);
  void arm();
  void serve();
  void on_delivery(rd_kafka_event_t* ev);
  void on_error(rd_kafka_event_t* ev);
  void finish_if_done(batch& b);
  rd_kafka_resp_err_t produce(const domain::log_event& e, batch* b);
  task<bool> wait_for_room(clock::time_point deadline);

  strand_type strand_;
  std::shared_ptr<client> client_;
  queue_ptr main_queue_;
  std::unique_ptr<queue_wakeup> wakeup_;  // before main_queue_ goes
  std::chrono::milliseconds delivery_timeout_;
  std::unordered_map<const batch*, std::shared_ptr<batch>> in_flight_;
  boost::asio::steady_timer room_;  // cancelled (never expires) when reports free room
  boost::asio::steady_timer idle_;  // cancelled when in_flight_ empties
  std::string fatal_;               // librdkafka's reason, after a fatal error
  bool closed_ = false;
};

}  // namespace sl::events::kafka::detail
