#pragma once
// The outbox relay: ships committed outbox rows to the event log in order and
// marks them published (giving them their database-log positions), then
// prunes old published rows.
//
// One relay works at a time across processes (a lease in the store, renewed
// every batch). A batch is read oldest first, appended to the sink (Kafka),
// and only then marked published: a crash in between ships the batch again
// (consumers de-duplicate on event_id), never skips it. With the database log
// there is nothing to ship: publishing is giving positions. When the sink
// fails (Kafka down), the batch is retried with backoff and writes go on
// accumulating in the outbox.
//
// Threads: runs as one coroutine on `ex`; start()/stop() from any thread.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/event_log.hpp"
#include "domain/store.hpp"
#include "events/background_loop.hpp"

namespace sl::events {

struct relay_settings {
  std::string holder;                        // this process's name for the lease
  std::vector<std::string> topics;           // created in the log (Kafka) before the first batch
  std::size_t batch = 500;                   // rows per append
  std::chrono::milliseconds idle_min{10};    // first wait when the outbox is empty
  std::chrono::milliseconds idle_max{200};   // waits double up to this
  std::chrono::milliseconds retry_min{200};  // after a failed append or store error
  std::chrono::milliseconds retry_max{5000};
  std::chrono::milliseconds lease_ttl{10000};   // another relay takes over after this
  std::chrono::hours retention{168};            // published rows are kept this long
  std::chrono::hours processed_retention{168};  // consumers' processed event ids
  std::chrono::milliseconds prune_every{60000};
  std::chrono::milliseconds backlog_every{10000};  // how often the outbox backlog gauges are refreshed
  // Tests only: the process kills itself (SIGKILL) after its first append
  // and before marking the batch published, the window a crash can hit.
  bool crash_after_append = false;
};

class outbox_relay {
 public:
  // `log` is where events go; for the database log there is nothing to
  // ship (`ship` false) and publishing is giving positions.
  outbox_relay(boost::asio::any_io_executor ex, domain::store& db, domain::event_log& log, bool ship, const clock& clk,
               relay_settings s);

  void start();
  // Finishes the batch in flight, gives the lease up, then returns.
  task<void> stop();
  // Wakes the relay now (a write just committed).
  void nudge();

 private:
  task<void> run();
  // One batch; false when there was nothing to publish.
  task<bool> relay_once();
  task<void> prune();
  task<void> release();  // the lease, when stopping
  task<void> count_backlog();

  background_loop loop_;
  domain::store& db_;
  domain::event_log& log_;
  bool ship_;
  bool topics_ready_ = false;
  const clock& clock_;
  relay_settings s_;
  bool nudged_ = false;  // a write committed since the last read (on the loop's executor)
  std::chrono::steady_clock::time_point last_prune_{};
  std::chrono::steady_clock::time_point last_backlog_{};
};

}  // namespace sl::events
