#pragma once
// The Kafka event log's metrics, registered once per process in
// sl::obs::registry() and shared by every log and stream. The free functions
// are thread-safe; a topic_counters belongs to one owner (a producer's strand,
// a stream's coroutine).

#include <prometheus/counter.h>

#include <string>
#include <string_view>
#include <unordered_map>

namespace sl::events::kafka::detail {

enum class counted { produced, consumed };

// signalink_events_produced_total{topic} (records acknowledged) or
// signalink_events_consumed_total{topic} (records returned by poll), with the
// topic's counter looked up once.
class topic_counters {
 public:
  explicit topic_counters(counted what) : what_(what) {}
  void add(std::string_view topic, double n = 1);

 private:
  counted what_;
  std::unordered_map<std::string, prometheus::Counter*> by_topic_;
};

// signalink_events_produce_errors_total: records the producer failed to deliver.
void count_produce_errors(double n);
// signalink_events_producer_waits_total: appends that waited for room in the producer's queue.
void count_producer_wait();
// signalink_events_commits_total: offset commits confirmed by the group coordinator.
void count_commit();
// Declares every family above (at start-up, so /metrics lists them at once).
void register_metrics();

}  // namespace sl::events::kafka::detail
