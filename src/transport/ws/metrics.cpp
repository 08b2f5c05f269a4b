#include "transport/ws/metrics.hpp"

#include <string>

#include "observability/metrics.hpp"

namespace sl::ws::metrics {
namespace {

prometheus::Family<prometheus::Counter>& closes_family() {
  static auto& f =
      obs::counter_family("signalink_ws_closes_total", "WebSocket connections closed by the server, by close code");
  return f;
}

prometheus::Family<prometheus::Counter>& refused_family() {
  static auto& f =
      obs::counter_family("signalink_ws_refused_upgrades_total", "WebSocket upgrades refused, by HTTP status");
  return f;
}

}  // namespace

void register_metrics() {
  connections();
  subscriptions();
  frames_received();
  frames_sent();
  bytes_sent();
  closes_family();
  slow_consumer_closes();
  duplicates_dropped();
  gap_fills();
  replayed_messages();
  idle_drops();
  refused_family();
  fanout_latency();
}

prometheus::Gauge& connections() {
  static auto& g = obs::gauge("signalink_ws_connections", "Open WebSocket connections");
  return g;
}

prometheus::Gauge& subscriptions() {
  static auto& g = obs::gauge("signalink_ws_subscriptions", "Channel subscriptions of open WebSocket connections");
  return g;
}

prometheus::Counter& frames_received() {
  static auto& c = obs::counter("signalink_ws_frames_received_total", "WebSocket frames received from clients");
  return c;
}

prometheus::Counter& frames_sent() {
  static auto& c = obs::counter("signalink_ws_frames_sent_total", "WebSocket frames written to clients");
  return c;
}

prometheus::Counter& bytes_sent() {
  static auto& c =
      obs::counter("signalink_ws_sent_bytes_total", "Payload bytes of WebSocket frames written to clients");
  return c;
}

prometheus::Counter& closes(std::uint16_t code) { return closes_family().Add({{"code", std::to_string(code)}}); }

prometheus::Counter& slow_consumer_closes() {
  static auto& c = obs::counter("signalink_ws_slow_consumer_closes_total",
                                "WebSocket connections closed with 4008 because their send queue outgrew its limit");
  return c;
}

prometheus::Counter& duplicates_dropped() {
  static auto& c = obs::counter("signalink_ws_duplicates_dropped_total", "Message events dropped as already delivered");
  return c;
}

prometheus::Counter& gap_fills() {
  static auto& c = obs::counter("signalink_ws_gap_fills_total", "Sequence gaps filled from the store");
  return c;
}

prometheus::Counter& replayed_messages() {
  static auto& c = obs::counter("signalink_ws_replayed_messages_total", "Messages replayed to subscribers (since_seq)");
  return c;
}

prometheus::Counter& idle_drops() {
  static auto& c =
      obs::counter("signalink_ws_idle_drops_total", "Sockets dropped after WS_IDLE_TIMEOUT_SECONDS of silence");
  return c;
}

prometheus::Counter& refused_upgrades(int status) { return refused_family().Add({{"status", std::to_string(status)}}); }

prometheus::Histogram& fanout_latency() {
  static auto& h =
      obs::histogram_family(
          "signalink_ws_fanout_latency_seconds",
          "From a message's creation to its frame queued to its live subscribers, per I/O thread that delivered it")
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                           2.5, 5, 10});
  return h;
}

}  // namespace sl::ws::metrics
