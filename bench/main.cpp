// signalink-bench: load generator for Signalink (README: "Benchmarks").

#include <CLI/CLI.hpp>
#include <iostream>

#include "write_scenario.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"signalink-bench: measures a running Signalink server"};
  cli.require_subcommand(1);

  sl::bench::write_options w;
  auto* write = cli.add_subcommand("write", "Persisted messages/s and latency of POST /api/v1/messages/ (closed loop)");
  write->add_option("--api", w.api, "API base URL")->capture_default_str();
  write->add_option("--clients", w.clients, "Concurrent keep-alive clients (one user each)")->capture_default_str();
  write->add_option("--channels", w.channels, "Channels the clients spread over")->capture_default_str();
  write->add_option("--duration", w.duration_s, "Measured seconds")->capture_default_str();
  write->add_option("--warmup", w.warmup_s, "Warm-up seconds, not measured")->capture_default_str();
  write->add_option("--content-bytes", w.content_bytes, "Message size")->capture_default_str();
  write->add_option("--threads", w.threads, "Generator threads")->capture_default_str();
  write->add_option("--server-pid", w.server_pid, "Server process, to report its CPU use");
  write->add_option("--label", w.label, "Free text copied into the JSON line (e.g. the backend)");

  CLI11_PARSE(cli, argc, argv);
  try {
    if (write->parsed()) return sl::bench::run_write(w);
  } catch (const std::exception& e) {
    std::cerr << "signalink-bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
