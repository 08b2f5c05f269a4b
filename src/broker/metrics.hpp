#pragma once
// The broker's metrics, shared by both implementations (in-process and
// Redis) and every broker instance in a process: the connected gauge moves by
// deltas, so two brokers add up. Thread-safe.

namespace sl::broker::metrics {

enum class drop_reason { disconnected, undecodable };

// signalink_broker_published_total: events handed to the broker.
void count_published();
// signalink_broker_received_total: events decoded and delivered to on_event.
void count_received();
// signalink_broker_dropped_total{reason="disconnected|undecodable"} (Redis only).
void count_dropped(drop_reason why);
// signalink_broker_reconnects_total: connections re-established after an outage (Redis only).
void count_reconnect();
// signalink_broker_connected: brokers connected (1 per connected broker; the
// in-process broker counts from start() to stop()).
void connected_add(double delta);
// Declares every family above (at start-up, so /metrics lists them at once).
void register_metrics();

}  // namespace sl::broker::metrics
