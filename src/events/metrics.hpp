#pragma once
// The event pipeline's Prometheus series (registered on first use).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

namespace sl::events::metrics {

prometheus::Counter& relay_published();
prometheus::Counter& relay_errors();
prometheus::Gauge& relay_leader();
prometheus::Histogram& relay_delay();
prometheus::Counter& consumer_events(const std::string& group, const std::string& outcome);
prometheus::Counter& consumer_retries(const std::string& group);
prometheus::Gauge& consumer_lag(const std::string& group);

}  // namespace sl::events::metrics
