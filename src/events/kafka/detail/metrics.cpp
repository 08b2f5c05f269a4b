#include "events/kafka/detail/metrics.hpp"

#include "events/metrics.hpp"
#include "observability/metrics.hpp"

namespace sl::events::kafka::detail {
namespace {

struct kafka_metrics {
  prometheus::Counter& producer_waits =
      obs::counter("signalink_events_producer_waits_total", "Appends that waited for room in the Kafka producer queue");
  prometheus::Counter& commits =
      obs::counter("signalink_events_commits_total", "Kafka consumer offset commits confirmed");
};

kafka_metrics& own() {
  static kafka_metrics m;
  return m;
}

}  // namespace

void count_producer_wait() { own().producer_waits.Increment(); }
void count_commit() { own().commits.Increment(); }
void register_metrics() {
  own();
  events::metrics::register_log_counters();
}

}  // namespace sl::events::kafka::detail
