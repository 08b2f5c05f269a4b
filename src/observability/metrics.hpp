#pragma once
// The process-wide metrics registry. Families are created once at start-up by
// the component that owns them; updating a metric is thread-safe and lock-free
// for counters and gauges.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string>

namespace sl::obs {

prometheus::Registry& registry();
// Prometheus text exposition format (version 0.0.4) of everything registered.
std::string render_metrics();

}  // namespace sl::obs
