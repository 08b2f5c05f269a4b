#include "events/kafka/detail/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::events::kafka::detail {
namespace {

prometheus::Counter& counter(const char* name, const char* help) { return obs::counter_family(name, help).Add({}); }

// The produce/consume families are the database log's too (events/metrics.cpp),
// with the same help texts: whichever log registers first names them.
struct event_metrics {
  prometheus::Family<prometheus::Counter>& produced = obs::counter_family(
      "signalink_events_produced_total", "Events appended to the event log and acknowledged, by topic");
  prometheus::Family<prometheus::Counter>& consumed =
      obs::counter_family("signalink_events_consumed_total", "Events read from the event log, by topic");
  prometheus::Counter& produce_errors =
      counter("signalink_events_produce_errors_total", "Events the event log failed to take (the relay retries them)");
  prometheus::Counter& producer_waits =
      counter("signalink_events_producer_waits_total", "Appends that waited for room in the Kafka producer queue");
  prometheus::Counter& commits = counter("signalink_events_commits_total", "Kafka consumer offset commits confirmed");
};

event_metrics& metrics() {
  static event_metrics m;
  return m;
}

}  // namespace

void topic_counters::add(std::string_view topic, double n) {
  auto it = by_topic_.find(std::string(topic));
  if (it == by_topic_.end()) {
    auto& family = what_ == counted::produced ? metrics().produced : metrics().consumed;
    it = by_topic_.emplace(std::string(topic), &family.Add({{"topic", std::string(topic)}})).first;
  }
  it->second->Increment(n);
}

void count_produce_errors(double n) { metrics().produce_errors.Increment(n); }
void count_producer_wait() { metrics().producer_waits.Increment(); }
void count_commit() { metrics().commits.Increment(); }
void register_metrics() { metrics(); }

}  // namespace sl::events::kafka::detail
