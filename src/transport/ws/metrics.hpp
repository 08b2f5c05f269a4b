#pragma once
// The gateway's Prometheus series (registered on first use; thread-safe).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <cstdint>

namespace sl::ws::metrics {

prometheus::Gauge& connections();
prometheus::Gauge& subscriptions();
prometheus::Counter& frames_received();
prometheus::Counter& frames_sent();
prometheus::Counter& bytes_sent();
prometheus::Counter& closes(std::uint16_t code);
prometheus::Counter& duplicates_dropped();
prometheus::Counter& gap_fills();
prometheus::Counter& replayed_messages();
prometheus::Counter& idle_drops();
prometheus::Counter& refused_upgrades(int status);

}  // namespace sl::ws::metrics
