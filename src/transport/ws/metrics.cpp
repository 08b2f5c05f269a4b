#include "transport/ws/metrics.hpp"

#include <string>

#include "observability/metrics.hpp"

namespace sl::ws::metrics {
namespace {

prometheus::Gauge& gauge(const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(obs::registry()).Add({});
}

prometheus::Counter& counter(const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(obs::registry()).Add({});
}

}  // namespace

prometheus::Gauge& connections() {
  static auto& g = gauge("signalink_ws_connections", "Open WebSocket connections");
  return g;
}

prometheus::Gauge& subscriptions() {
  static auto& g = gauge("signalink_ws_subscriptions", "Channel subscriptions of open WebSocket connections");
  return g;
}

prometheus::Counter& frames_received() {
  static auto& c = counter("signalink_ws_frames_received_total", "WebSocket frames received from clients");
  return c;
}

prometheus::Counter& frames_sent() {
  static auto& c = counter("signalink_ws_frames_sent_total", "WebSocket frames written to clients");
  return c;
}

prometheus::Counter& bytes_sent() {
  static auto& c = counter("signalink_ws_sent_bytes_total", "Payload bytes of WebSocket frames written to clients");
  return c;
}

prometheus::Counter& closes(std::uint16_t code) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_ws_closes_total")
                            .Help("WebSocket connections closed by the server, by close code")
                            .Register(obs::registry());
  return family.Add({{"code", std::to_string(code)}});
}

prometheus::Counter& duplicates_dropped() {
  static auto& c = counter("signalink_ws_duplicates_dropped_total", "Message events dropped as already delivered");
  return c;
}

prometheus::Counter& gap_fills() {
  static auto& c = counter("signalink_ws_gap_fills_total", "Sequence gaps filled from the store");
  return c;
}

prometheus::Counter& replayed_messages() {
  static auto& c = counter("signalink_ws_replayed_messages_total", "Messages replayed to subscribers (since_seq)");
  return c;
}

prometheus::Counter& idle_drops() {
  static auto& c = counter("signalink_ws_idle_drops_total", "Sockets dropped after WS_IDLE_TIMEOUT_SECONDS of silence");
  return c;
}

prometheus::Counter& refused_upgrades(int status) {
  static auto& family = prometheus::BuildCounter()
                            .Name("signalink_ws_refused_upgrades_total")
                            .Help("WebSocket upgrades refused, by HTTP status")
                            .Register(obs::registry());
  return family.Add({{"status", std::to_string(status)}});
}

}  // namespace sl::ws::metrics
