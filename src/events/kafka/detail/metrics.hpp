#pragma once
// The Kafka event log's own metrics, registered once per process in
// sl::obs::registry() and shared by every log and stream (thread-safe). The
// produce and consume counters are the database log's families
// (events/metrics.hpp): one declaration, one help text.

namespace sl::events::kafka::detail {

// signalink_events_producer_waits_total: appends that waited for room in the producer's queue.
void count_producer_wait();
// signalink_events_commits_total: offset commits confirmed by the group coordinator.
void count_commit();
// Declares every family above and the event log counters (at start-up, so
// /metrics lists them at once).
void register_metrics();

}  // namespace sl::events::kafka::detail
