#pragma once
// The analytics role's Prometheus series; register_metrics() creates them all
// at 0 (the aggregator calls it when it starts).

#include <prometheus/counter.h>

#include <string>

namespace sl::analytics::metrics {

void register_metrics();

// outcome: new | duplicate (an event seen before: counted once).
prometheus::Counter& facts(const std::string& outcome);
prometheus::Counter& windows_written();
prometheus::Counter& write_errors();

}  // namespace sl::analytics::metrics
