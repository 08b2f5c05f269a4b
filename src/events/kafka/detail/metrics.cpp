#include "events/kafka/detail/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::events::kafka::detail {
namespace {

prometheus::Counter& counter(const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(obs::registry()).Add({});
}

struct event_metrics {
  prometheus::Family<prometheus::Counter>& produced = prometheus::BuildCounter()
                                                          .Name("signalink_events_produced_total")
                                                          .Help("Events appended to Kafka and acknowledged")
                                                          .Register(obs::registry());
  prometheus::Family<prometheus::Counter>& consumed = prometheus::BuildCounter()
                                                          .Name("signalink_events_consumed_total")
                                                          .Help("Events read from Kafka by event streams")
                                                          .Register(obs::registry());
  prometheus::Counter& produce_errors =
      counter("signalink_events_produce_errors_total", "Events the Kafka producer failed to deliver");
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

}  // namespace sl::events::kafka::detail
