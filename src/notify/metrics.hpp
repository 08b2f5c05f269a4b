#pragma once
// The notifier role's Prometheus series; register_metrics() declares them
// (the notifier calls it when made).

#include <prometheus/counter.h>

#include <string>

namespace sl::notify::metrics {

void register_metrics();

// type: dm | mention | reply | channel; outcome: created | folded | duplicate.
prometheus::Counter& notifications(const std::string& type, const std::string& outcome);
// channel: webhook | email; outcome: sent | retried | failed.
prometheus::Counter& deliveries(const std::string& channel, const std::string& outcome);

}  // namespace sl::notify::metrics
