#include "events/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::events::metrics {

prometheus::Counter& relay_published() {
  static auto& c = prometheus::BuildCounter()
                       .Name("signalink_outbox_published_total")
                       .Help("Outbox events published to the event log by the relay")
                       .Register(obs::registry())
                       .Add({});
  return c;
}

prometheus::Counter& relay_errors() {
  static auto& c = prometheus::BuildCounter()
                       .Name("signalink_outbox_relay_errors_total")
                       .Help("Relay batches that failed (event log or database unavailable) and were retried")
                       .Register(obs::registry())
                       .Add({});
  return c;
}

prometheus::Gauge& relay_leader() {
  static auto& g = prometheus::BuildGauge()
                       .Name("signalink_outbox_relay_leader")
                       .Help("1 while this process holds the relay lease")
                       .Register(obs::registry())
                       .Add({});
  return g;
}

prometheus::Histogram& relay_delay() {
  static auto& h = prometheus::BuildHistogram()
                       .Name("signalink_outbox_publish_delay_seconds")
                       .Help("From a write to its event's publication by the relay")
                       .Register(obs::registry())
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                                        2.5, 5, 10, 30, 60});
  return h;
}

prometheus::Counter& consumer_events(const std::string& group, const std::string& outcome) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_consumer_events_total")
                            .Help("Events seen by consumer groups, by outcome (processed, duplicate, dead_lettered)")
                            .Register(obs::registry());
  return family.Add({{"group", group}, {"outcome", outcome}});
}

prometheus::Counter& consumer_retries(const std::string& group) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_consumer_retries_total")
                            .Help("Handler attempts that failed and were retried")
                            .Register(obs::registry());
  return family.Add({{"group", group}});
}

prometheus::Gauge& consumer_lag(const std::string& group) {
  static auto& family = prometheus::BuildGauge()
                            .Name("signalink_consumer_lag_events")
                            .Help("Events of a consumer group's topics not yet committed by it")
                            .Register(obs::registry());
  return family.Add({{"group", group}});
}

}  // namespace sl::events::metrics
