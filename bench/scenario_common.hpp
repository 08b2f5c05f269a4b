#pragma once
// What the scenarios share: URLs, a blocking run of a setup coroutine, the
// subscribe exchange, and the report (a human table on stdout, then one JSON
// line with the machine, build and commit).

#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "histogram.hpp"
#include "ws_client.hpp"

namespace sl::bench {

std::vector<ws_url> parse_ws_urls(const std::string& comma_separated);
// The source address of socket i when `sources` loopback addresses
// (127.0.0.2 ...) share the sockets: each has its own ~28k ephemeral ports.
// Empty (any) when sources is 0 or the server is not on loopback.
std::string source_address(std::size_t i, int sources, const ws_url& server);
// Connects socket i of a scenario: to urls[i % urls.size()], from its source
// address (source_address), with `token`.
task<void> connect_socket(ws_client& ws, std::size_t i, const std::vector<ws_url>& urls, int sources,
                          const std::string& token);
// Runs `setup` on a private io_context on this thread until it finishes.
void run_blocking(const std::function<task<void>()>& setup);
// Subscribes and waits for the answer; throws on an error frame. Returns
// `recovered` when since_seq was given (frames before `success` are skipped).
task<bool> subscribe(ws_client& ws, const std::string& channel_id, std::optional<std::int64_t> since_seq = {});
std::string fmt(double v, int decimals);

class result {
 public:
  result(std::string scenario, std::string label);
  void line(const std::string& name, const std::string& value);
  void latency(const histogram& h, const std::string& name = "latency ms");
  void cpu(double server_s, double self_s, double window_s, std::size_t server_processes);
  void add_latency(const histogram& h, const std::string& prefix = "");
  void add_cpu(double server_s, double self_s, double window_s);
  // The table, then the JSON line (scenario first, then `json`, then the run's context).
  void print();

  boost::json::object json;

 private:
  std::string scenario_;
  std::string label_;
  std::vector<std::pair<std::string, std::string>> lines_;
};

}  // namespace sl::bench
