#pragma once
// The analytics role's engine (contract.md section 5; docs/analytics.md):
// consumes signalink.messages and signalink.presence as group
// `analytics-consumers`, stores each event as a fact (once: facts are keyed
// by event id, and on the database log the group's position commits in the
// same transaction), and writes each window's metrics rows once the window
// has ended plus `grace`, again whenever a straggler lands in it later.
// Old windows go after `retention`.
//
// Threads: two coroutines (the consumer, the window writer) on `ex`;
// start()/stop() from any thread. Failures: a batch that cannot be stored is
// retried by the consumer framework; a window that cannot be written stays
// pending and is tried again on the next pass.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/analytics_store.hpp"
#include "domain/event_log.hpp"
#include "domain/outbox_store.hpp"
#include "events/background_loop.hpp"
#include "events/consumer.hpp"

namespace sl::analytics {

inline constexpr const char* consumer_group = "analytics-consumers";

struct aggregator_settings {
  int window_seconds = 60;                      // METRICS_WINDOW_SECONDS
  std::chrono::milliseconds grace{2000};        // METRICS_GRACE_MS
  std::chrono::milliseconds write_every{1000};  // how often due windows are looked for
  std::chrono::hours retention{24 * 30};        // METRICS_RETENTION_DAYS
  std::chrono::minutes prune_every{60};
  events::consumer_settings consumer;  // group and topics filled by default()
};

// The defaults above with the consumer's group and topics.
aggregator_settings default_aggregator_settings();

class aggregator {
 public:
  aggregator(const boost::asio::any_io_executor& ex, domain::event_log& log, domain::outbox_store& offsets,
             domain::analytics_store& db, const clock& clk, aggregator_settings s);

  void start();
  // Stops consuming (what was handled is committed), then the writer.
  task<void> stop();

  // Writes every window due now; returns how many were written. The writer
  // loop calls it; tests may too.
  task<std::size_t> write_due_windows();

 private:
  task<std::vector<events::rejected_event>> record(const std::vector<domain::log_event>& batch);
  task<void> run_writer();

  domain::event_log& log_;
  domain::analytics_store& db_;
  const clock& clock_;
  aggregator_settings s_;
  events::consumer consumer_;
  events::background_loop writer_;
  timestamp last_prune_{};
};

}  // namespace sl::analytics
