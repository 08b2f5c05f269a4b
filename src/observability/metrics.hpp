#pragma once
// The process-wide metrics registry. Families are created once at start-up by
// the component that owns them; updating a metric is thread-safe and lock-free
// for counters and gauges.
//
// Declare families through counter_family()/gauge_family()/histogram_family()
// rather than prometheus::Build*: besides registering, they remember the
// family's help and type, so /metrics lists it (`# HELP`, `# TYPE`) even
// while it has no series yet (prometheus-cpp prints nothing for a family
// without children, so labelled families would stay undiscoverable until
// their first event). Declaring a name twice returns the same family (the
// first help text wins); the same name with another type throws.

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace sl::obs {

prometheus::Registry& registry();

prometheus::Family<prometheus::Counter>& counter_family(const std::string& name, const std::string& help);
prometheus::Family<prometheus::Gauge>& gauge_family(const std::string& name, const std::string& help);
prometheus::Family<prometheus::Histogram>& histogram_family(const std::string& name, const std::string& help);
// The one series of a family without labels (it starts at 0).
prometheus::Counter& counter(const std::string& name, const std::string& help);
prometheus::Gauge& gauge(const std::string& name, const std::string& help);

// Adds a collector computed at scrape time (process, disk) to what
// render_metrics() prints; kept for the life of the process.
void add_collectable(std::shared_ptr<prometheus::Collectable> c);

// Prometheus text exposition format (version 0.0.4) of everything registered.
std::string render_metrics();

}  // namespace sl::obs
