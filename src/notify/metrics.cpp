#include "notify/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::notify::metrics {
namespace {

prometheus::Family<prometheus::Counter>& notifications_family() {
  static auto& f = obs::counter_family("signalink_notifications_total",
                                       "Notifications decided for a recipient, by type and outcome (a duplicate is an "
                                       "event seen again: nothing was stored)");
  return f;
}

prometheus::Family<prometheus::Counter>& deliveries_family() {
  static auto& f =
      obs::counter_family("signalink_notification_deliveries_total",
                          "External notification deliveries (webhook calls, emails) by channel and outcome");
  return f;
}

}  // namespace

void register_metrics() {
  // Only the delivery series are known up front; the decisions' type x
  // outcome grid fills in as events arrive.
  notifications_family();
  for (const char* channel : {"webhook", "email"})
    for (const char* outcome : {"sent", "retried", "failed"}) deliveries(channel, outcome);
}

prometheus::Counter& notifications(const std::string& type, const std::string& outcome) {
  return notifications_family().Add({{"type", type}, {"outcome", outcome}});
}

prometheus::Counter& deliveries(const std::string& channel, const std::string& outcome) {
  return deliveries_family().Add({{"channel", channel}, {"outcome", outcome}});
}

}  // namespace sl::notify::metrics
