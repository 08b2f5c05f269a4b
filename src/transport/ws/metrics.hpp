#pragma once
// The gateway's Prometheus series (thread-safe). register_metrics() declares
// every family at start-up so /metrics lists them before the first socket.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <cstdint>

namespace sl::ws::metrics {

void register_metrics();

prometheus::Gauge& connections();
prometheus::Gauge& subscriptions();
prometheus::Counter& frames_received();
prometheus::Counter& frames_sent();
prometheus::Counter& bytes_sent();
prometheus::Counter& closes(std::uint16_t code);
// Closes with 4008: the socket's send queue outgrew WS_SEND_QUEUE_BYTES.
prometheus::Counter& slow_consumer_closes();
prometheus::Counter& duplicates_dropped();
prometheus::Counter& gap_fills();
prometheus::Counter& replayed_messages();
prometheus::Counter& idle_drops();
prometheus::Counter& refused_upgrades(int status);
// From a message's created_at to its frame queued to the local live
// subscribers of one I/O thread: one observation per message and I/O thread
// that delivered it to at least one subscriber not replaying.
prometheus::Histogram& fanout_latency();

}  // namespace sl::ws::metrics
