#pragma once
// The Redis broker's metrics, registered once per process in sl::obs::registry()
// and shared by every broker instance (the gauge moves by deltas, so two
// brokers in one process add up). Thread-safe.

namespace sl::broker::redis::detail {

enum class drop_reason { disconnected, undecodable };

// signalink_broker_published_total: events handed to Redis.
void count_published();
// signalink_broker_received_total: events decoded and delivered to on_event.
void count_received();
// signalink_broker_dropped_total{reason="disconnected|undecodable"}.
void count_dropped(drop_reason why);
// signalink_broker_reconnects_total: connections re-established after an outage.
void count_reconnect();
// signalink_broker_connected: brokers connected (1 per connected broker).
void connected_add(double delta);

}  // namespace sl::broker::redis::detail
