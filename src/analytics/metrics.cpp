#include "analytics/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::analytics::metrics {

prometheus::Counter& facts(const std::string& outcome) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_analytics_events_total")
                            .Help("Message and presence events stored as analytics facts, by outcome")
                            .Register(obs::registry());
  return family.Add({{"outcome", outcome}});
}

prometheus::Counter& windows_written() {
  static auto& c = prometheus::BuildCounter()
                       .Name("signalink_analytics_windows_written_total")
                       .Help("Metrics windows written (again, when a late event landed in one)")
                       .Register(obs::registry())
                       .Add({});
  return c;
}

prometheus::Counter& write_errors() {
  static auto& c = prometheus::BuildCounter()
                       .Name("signalink_analytics_write_errors_total")
                       .Help("Passes of the window writer that failed and were retried")
                       .Register(obs::registry())
                       .Add({});
  return c;
}

}  // namespace sl::analytics::metrics
