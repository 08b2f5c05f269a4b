#pragma once
// The analytics role's Prometheus series (registered on first use).

#include <prometheus/counter.h>

#include <string>

namespace sl::analytics::metrics {

// outcome: new | duplicate (an event seen before: counted once).
prometheus::Counter& facts(const std::string& outcome);
prometheus::Counter& windows_written();
prometheus::Counter& write_errors();

}  // namespace sl::analytics::metrics
