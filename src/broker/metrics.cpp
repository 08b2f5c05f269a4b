#include "broker/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::broker::metrics {
namespace {

struct broker_metrics {
  prometheus::Counter& published = obs::counter("signalink_broker_published_total", "Events published to the broker");
  prometheus::Counter& received =
      obs::counter("signalink_broker_received_total", "Events received from the broker and delivered");
  prometheus::Family<prometheus::Counter>& dropped_family = obs::counter_family(
      "signalink_broker_dropped_total", "Events dropped: published while disconnected, or received undecodable");
  prometheus::Counter& dropped_disconnected = dropped_family.Add({{"reason", "disconnected"}});
  prometheus::Counter& dropped_undecodable = dropped_family.Add({{"reason", "undecodable"}});
  prometheus::Counter& reconnects =
      obs::counter("signalink_broker_reconnects_total", "Broker connections re-established after an outage");
  prometheus::Gauge& connected =
      obs::gauge_family("signalink_broker_connected", "Brokers connected (1 per healthy broker; in-process: always 1)")
          .Add({});
};

broker_metrics& metrics() {
  static broker_metrics m;
  return m;
}

}  // namespace

void count_published() { metrics().published.Increment(); }
void count_received() { metrics().received.Increment(); }
void count_dropped(drop_reason why) {
  (why == drop_reason::disconnected ? metrics().dropped_disconnected : metrics().dropped_undecodable).Increment();
}
void count_reconnect() { metrics().reconnects.Increment(); }
void connected_add(double delta) { metrics().connected.Increment(delta); }
void register_metrics() { metrics(); }

}  // namespace sl::broker::metrics
