#include "notify/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::notify::metrics {

prometheus::Counter& notifications(const std::string& type, const std::string& outcome) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_notifications_total")
                            .Help(
                                "Notifications decided for a recipient, by type and outcome (a duplicate is an "
                                "event seen again: nothing was stored)")
                            .Register(obs::registry());
  return family.Add({{"type", type}, {"outcome", outcome}});
}

prometheus::Counter& deliveries(const std::string& channel, const std::string& outcome) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_notification_deliveries_total")
                            .Help("External notification deliveries (webhook calls, emails) by channel and outcome")
                            .Register(obs::registry());
  return family.Add({{"channel", channel}, {"outcome", outcome}});
}

}  // namespace sl::notify::metrics
