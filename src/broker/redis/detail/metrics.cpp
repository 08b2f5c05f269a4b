#include "broker/redis/detail/metrics.hpp"

#include "observability/metrics.hpp"

namespace sl::broker::redis::detail {
namespace {

prometheus::Counter& counter(const char* name, const char* help) {
  auto& family = prometheus::BuildCounter().Name(name).Help(help).Register(obs::registry());
  return family.Add({});
}

struct broker_metrics {
  prometheus::Counter& published = counter("signalink_broker_published_total", "Events published to the Redis broker");
  prometheus::Counter& received =
      counter("signalink_broker_received_total", "Events received from the Redis broker and delivered");
  prometheus::Family<prometheus::Counter>& dropped_family =
      prometheus::BuildCounter()
          .Name("signalink_broker_dropped_total")
          .Help("Events dropped: published while disconnected, or received undecodable")
          .Register(obs::registry());
  prometheus::Counter& dropped_disconnected = dropped_family.Add({{"reason", "disconnected"}});
  prometheus::Counter& dropped_undecodable = dropped_family.Add({{"reason", "undecodable"}});
  prometheus::Counter& reconnects =
      counter("signalink_broker_reconnects_total", "Redis broker connections re-established after an outage");
  prometheus::Gauge& connected = prometheus::BuildGauge()
                                     .Name("signalink_broker_connected")
                                     .Help("1 while the Redis broker is connected (summed over brokers)")
                                     .Register(obs::registry())
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

}  // namespace sl::broker::redis::detail
