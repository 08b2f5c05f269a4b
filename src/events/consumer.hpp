#pragma once
// The consumer framework of the services behind the event log (analytics,
// notifications, tools): one member of a consumer group reading its topics
// with at-least-once delivery.
//
// For each polled batch, in order: an event the group already processed (its
// event_id is remembered in the store) is skipped; the others go to the
// handler, retried with exponential backoff when it throws; after
// `max_attempts` the event is appended to `<topic>.dlq` (with the error in its
// headers) and consumption goes on. Only then are the batch's ids remembered
// and its positions committed, so a crash replays the batch and the handler
// must tolerate seeing an event again in that window (exactly once needs the
// handler to store its effect and the event id in one transaction).
// Logs "Processing <event_type> event: message_id=<id>, channel_id=<id>" per
// event; exports processed/duplicate/dead-lettered counts, retries and lag.
//
// Threads: runs as one coroutine on `ex`; start()/stop() from any thread.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/event_log.hpp"
#include "domain/outbox_store.hpp"
#include "events/background_loop.hpp"

namespace sl::events {

struct consumer_settings {
  std::string group;
  std::vector<std::string> topics;
  std::size_t batch = 100;
  // A stop waits out the poll in hand: short, so that processes stop quickly
  // (the database log reads every 20 ms within it anyway).
  std::chrono::milliseconds poll_wait{200};
  int max_attempts = 5;  // handler calls before dead-lettering
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  std::chrono::milliseconds lag_every{5000};
};

// Handles one event; throws to have it retried.
using event_handler = std::function<task<void>(const domain::log_event&)>;
// An event a batch handler refuses for good (it cannot be counted: a poison
// event), by its index in the batch, with the reason.
struct rejected_event {
  std::size_t index = 0;
  std::string reason;
};
// Handles a polled batch at once and is idempotent on its own (it stores its
// effect keyed by event id, in one transaction), so the framework neither
// filters nor records event ids. Returns the events it refused, which go to
// `<topic>.dlq` at once; throws when the batch could not be handled (the
// database is down), and the batch is retried with backoff until it is, or
// until the consumer stops (the batch is then not committed, and comes again).
using batch_handler = std::function<task<std::vector<rejected_event>>(const std::vector<domain::log_event>&)>;

class consumer {
 public:
  consumer(boost::asio::any_io_executor ex, domain::event_log& log, domain::outbox_store& db, const clock& clk,
           consumer_settings s, event_handler handler);
  consumer(boost::asio::any_io_executor ex, domain::event_log& log, domain::outbox_store& db, const clock& clk,
           consumer_settings s, batch_handler handler);

  void start();
  // Finishes the event in hand, commits what was handled, leaves the group.
  task<void> stop();

 private:
  task<void> run();
  task<void> consume(domain::event_stream& stream);
  // Batch mode; throws when the consumer stops before the batch was handled.
  task<void> handle_batch(const std::vector<domain::log_event>& batch);
  // Handles one event with retries; dead-letters it after the last attempt.
  task<void> handle(const domain::log_event& e);
  task<void> dead_letter(const domain::log_event& e, const std::string& error, int attempts);

  background_loop loop_;
  domain::event_log& log_;
  domain::outbox_store& db_;
  const clock& clock_;
  consumer_settings s_;
  event_handler handler_;
  batch_handler batch_handler_;
  std::chrono::steady_clock::time_point last_lag_{};
};

// "Processing message.created event: message_id=<id>, channel_id=<id>".
std::string describe_processing(const domain::log_event& e);

}  // namespace sl::events
