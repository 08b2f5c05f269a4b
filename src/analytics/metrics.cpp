#include "analytics/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::analytics::metrics {

void register_metrics() {
  facts("new");
  facts("duplicate");
  windows_written();
  write_errors();
}

prometheus::Counter& facts(const std::string& outcome) {
  static auto& family = obs::counter_family("signalink_analytics_events_total",
                                            "Message and presence events stored as analytics facts, by outcome");
  return family.Add({{"outcome", outcome}});
}

prometheus::Counter& windows_written() {
  static auto& c = obs::counter_family("signalink_analytics_windows_written_total",
                                       "Metrics windows written (again, when a late event landed in one)")
                       .Add({});
  return c;
}

prometheus::Counter& write_errors() {
  static auto& c = obs::counter_family("signalink_analytics_write_errors_total",
                                       "Passes of the window writer that failed and were retried")
                       .Add({});
  return c;
}

}  // namespace sl::analytics::metrics
