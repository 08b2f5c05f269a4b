#pragma once
// The event pipeline's Prometheus series (thread-safe). The register_*
// functions declare families at start-up, so /metrics lists them before
// the first event.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>
#include <string_view>

namespace sl::events::metrics {

// The relay's series and the event log's produce counters.
void register_relay();
// The event log's produce/consume families, for a log that counts its own
// (Kafka): one declaration, one help text, whichever log runs.
void register_log_counters();
// A consumer group's series, at 0 for `group`.
void register_consumer(const std::string& group);

prometheus::Counter& relay_published();
prometheus::Counter& relay_errors();
prometheus::Gauge& relay_leader();
prometheus::Histogram& relay_delay();
// Refreshed by the relay now and then (relay_settings::backlog_every).
prometheus::Gauge& outbox_pending();
prometheus::Gauge& outbox_oldest_age();

// signalink_events_produced_total{topic}, _produce_errors_total and
// _consumed_total{topic}, counted by the database log's relay and consumers
// and by the Kafka log's producer and streams. The topic's series is looked
// up once per thread.
prometheus::Counter& events_produced(std::string_view topic);
prometheus::Counter& events_produce_errors();
prometheus::Counter& events_consumed(std::string_view topic);

prometheus::Counter& consumer_events(const std::string& group, const std::string& outcome);
prometheus::Counter& consumer_retries(const std::string& group);
prometheus::Gauge& consumer_lag(const std::string& group);

}  // namespace sl::events::metrics
