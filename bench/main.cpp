// signalink-bench: load generator for Signalink (README: "Benchmarks").

#include <CLI/CLI.hpp>
#include <iostream>

#include "connections_scenario.hpp"
#include "fanout_scenario.hpp"
#include "storm_scenario.hpp"
#include "write_scenario.hpp"

namespace {

// The options every scenario shares.
template <typename Options>
void common(CLI::App* app, Options& o) {
  app->add_option("--api", o.api, "API base URL (users and channels are prepared through it)")->capture_default_str();
  app->add_option("--threads", o.threads, "Generator threads")->capture_default_str();
  app->add_option("--server-pid", o.server_pids,
                  "Server pid(s) whose CPU and memory are read, comma-separated (default: every `signalink`)");
  app->add_option("--label", o.label, "Free text copied into the JSON line (e.g. the backend)");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{
      "signalink-bench: measures a running Signalink server (start it with PASSWORD_HASH_COST=fast "
      "RATE_LIMIT_ENABLED=false). Each run prints a table, then one JSON line with \"scenario\"."};
  cli.require_subcommand(1);

  sl::bench::fanout_options f;
  auto* fanout = cli.add_subcommand(
      "fanout", "Deliveries/s and publish-to-receive latency: C channels x S subscribers, P publishers, open loop");
  common(fanout, f);
  fanout->add_option("--ws", f.ws, "Gateway URL(s), comma-separated: sockets spread over them")->capture_default_str();
  fanout->add_option("--channels", f.channels, "Channels")->capture_default_str();
  fanout->add_option("--subscribers", f.subscribers, "Subscriber sockets per channel")->capture_default_str();
  fanout->add_option("--publishers", f.publishers, "Publisher sockets (0: min(channels, 16))")->capture_default_str();
  fanout->add_option("--rate", f.rate, "Messages per second offered, all publishers together")->capture_default_str();
  fanout->add_option("--duration", f.duration_s, "Measured seconds")->capture_default_str();
  fanout->add_option("--warmup", f.warmup_s, "Warm-up seconds, not measured")->capture_default_str();
  fanout->add_option("--drain", f.drain_s, "Seconds to wait for the window's last deliveries")->capture_default_str();
  fanout->add_option("--content-bytes", f.content_bytes, "Message content size")->capture_default_str();
  fanout->add_option("--sockets-per-user", f.sockets_per_user, "Subscriber sockets sharing one user")
      ->capture_default_str();
  fanout->add_option("--sources", f.sources, "Loopback source addresses 127.0.0.2 ... of the subscribers (0: any)")
      ->capture_default_str();

  sl::bench::connections_options c;
  auto* conns = cli.add_subcommand(
      "connections", "Idle authenticated sockets: connect rate and server RSS per socket, over several processes");
  common(conns, c);
  conns->add_option("--ws", c.ws, "Gateway URL(s), comma-separated: sockets spread over them")->capture_default_str();
  conns->add_option("--connections", c.connections, "Sockets to open")->capture_default_str();
  conns->add_option("--sources", c.sources, "Loopback source addresses 127.0.0.2 ... (each has ~28k ports; 0: any)")
      ->capture_default_str();
  conns->add_option("--concurrency", c.concurrency, "Upgrades in flight per process")->capture_default_str();
  conns->add_option("--sockets-per-user", c.sockets_per_user, "Sockets sharing one user")->capture_default_str();
  conns->add_option("--hold", c.hold_s, "Idle seconds before the server's RSS is read (< WS_IDLE_TIMEOUT/2)")
      ->capture_default_str();
  conns->add_option("--procs", c.procs, "Generator processes sharing the sockets")->capture_default_str();
  conns->add_option("--shard", c.shard)->group("");  // set for the generator's own child processes
  conns->add_option("--plan", c.plan)->group("");

  sl::bench::write_options w;
  auto* write = cli.add_subcommand("write", "Persisted messages/s and latency, over REST or WebSocket (closed loop)");
  common(write, w);
  write->add_option("--transport", w.transport, "rest or ws")->capture_default_str();
  write->add_option("--ws", w.ws, "Gateway URL (with --transport ws)")->capture_default_str();
  write->add_option("--clients", w.clients, "Concurrent clients (one user and one connection each)")
      ->capture_default_str();
  write->add_option("--channels", w.channels, "Channels the clients spread over")->capture_default_str();
  write->add_option("--pipeline", w.pipeline, "Sends in flight per WebSocket client")->capture_default_str();
  write->add_option("--duration", w.duration_s, "Measured seconds")->capture_default_str();
  write->add_option("--warmup", w.warmup_s, "Warm-up seconds, not measured")->capture_default_str();
  write->add_option("--content-bytes", w.content_bytes, "Message size")->capture_default_str();

  sl::bench::storm_options s;
  auto* storm = cli.add_subcommand(
      "storm", "Every client drops at once and reconnects with since_seq while publishing goes on: time to recover");
  common(storm, s);
  storm->add_option("--ws", s.ws, "Gateway URL(s), comma-separated")->capture_default_str();
  storm->add_option("--clients", s.clients, "Subscribed clients")->capture_default_str();
  storm->add_option("--channels", s.channels, "Channels they spread over")->capture_default_str();
  storm->add_option("--publishers", s.publishers, "Publisher sockets (0: min(channels, 16))")->capture_default_str();
  storm->add_option("--rate", s.rate, "Messages per second published throughout")->capture_default_str();
  storm->add_option("--before", s.before_s, "Seconds of publishing before the drop")->capture_default_str();
  storm->add_option("--after", s.after_s, "Seconds of publishing after everyone recovered")->capture_default_str();
  storm->add_option("--timeout", s.timeout_s, "Give up waiting for recovery after this many seconds")
      ->capture_default_str();
  storm->add_option("--concurrency", s.concurrency, "Connects in flight per process")->capture_default_str();
  storm->add_option("--sockets-per-user", s.sockets_per_user, "Clients sharing one user")->capture_default_str();
  storm->add_option("--sources", s.sources, "Loopback source addresses 127.0.0.2 ... (0: any)")->capture_default_str();

  CLI11_PARSE(cli, argc, argv);
  try {
    if (fanout->parsed()) return sl::bench::run_fanout(f);
    if (conns->parsed()) return sl::bench::run_connections(c);
    if (write->parsed()) return sl::bench::run_write(w);
    if (storm->parsed()) return sl::bench::run_storm(s);
  } catch (const std::exception& e) {
    std::cerr << "signalink-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
