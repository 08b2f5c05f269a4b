#include "scenario_common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "frame_scan.hpp"
#include "report.hpp"

namespace sl::bench {

std::vector<ws_url> parse_ws_urls(const std::string& comma_separated) {
  std::vector<ws_url> out;
  std::istringstream in(comma_separated);
  for (std::string u; std::getline(in, u, ',');)
    if (!u.empty()) out.push_back(ws_url::parse(u));
  if (out.empty()) throw std::invalid_argument("--ws: no URL");
  return out;
}

std::string source_address(std::size_t i, int sources, const ws_url& server) {
  if (sources <= 0 || server.host.rfind("127.", 0) != 0) return {};
  return "127.0.0." + std::to_string(2 + i % static_cast<std::size_t>(sources));
}

task<void> connect_socket(ws_client& ws, std::size_t i, const std::vector<ws_url>& urls, int sources,
                          const std::string& token) {
  const auto& url = urls[i % urls.size()];
  co_await ws.connect(url, token, source_address(i, sources, url));
}

void run_blocking(const std::function<task<void>()>& setup) {
  boost::asio::io_context ctx;
  auto f = boost::asio::co_spawn(ctx, setup(), boost::asio::use_future);
  ctx.run();
  f.get();
}

task<bool> subscribe(ws_client& ws, const std::string& channel_id, std::optional<std::int64_t> since_seq) {
  std::string text = R"({"type":"channel.subscribe","channel_id":")" + channel_id + '"';
  if (since_seq) text += R"(,"since_seq":)" + std::to_string(*since_seq);
  text += '}';
  co_await ws.send(text);
  for (;;) {
    const auto f = co_await ws.read();
    const auto type = frame_type(f);
    if (type == "error") throw std::runtime_error("subscribe refused: " + std::string(f));
    if (type == "success") co_return f.find(R"("recovered":false)") == std::string_view::npos;
  }
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

result::result(std::string scenario, std::string label) : scenario_(std::move(scenario)), label_(std::move(label)) {}

void result::line(const std::string& name, const std::string& value) { lines_.emplace_back(name, value); }

void result::latency(const histogram& h, const std::string& name) {
  line(name, "p50 " + fmt(h.quantile_us(0.5) / 1000, 2) + "  p90 " + fmt(h.quantile_us(0.9) / 1000, 2) + "  p99 " +
                 fmt(h.quantile_us(0.99) / 1000, 2) + "  p99.9 " + fmt(h.quantile_us(0.999) / 1000, 2) + "  max " +
                 fmt(h.max_us() / 1000, 2) + "  (" + std::to_string(h.count()) + " samples)");
}

void result::cpu(double server_s, double self_s, double window_s, std::size_t server_processes) {
  line("server CPU", fmt(server_s / window_s, 2) + " cores (" + std::to_string(server_processes) + " process" +
                         (server_processes == 1 ? "" : "es") + ")");
  line("generator CPU", fmt(self_s / window_s, 2) + " cores");
}

void result::add_latency(const histogram& h, const std::string& prefix) {
  json[prefix + "p50_ms"] = h.quantile_us(0.5) / 1000;
  json[prefix + "p90_ms"] = h.quantile_us(0.9) / 1000;
  json[prefix + "p99_ms"] = h.quantile_us(0.99) / 1000;
  json[prefix + "p999_ms"] = h.quantile_us(0.999) / 1000;
  json[prefix + "max_ms"] = h.max_us() / 1000;
}

void result::add_cpu(double server_s, double self_s, double window_s) {
  json["server_cpu_cores"] = server_s / window_s;
  json["generator_cpu_cores"] = self_s / window_s;
}

void result::print() {
  std::printf("%-22s %s\n", "scenario", scenario_.c_str());
  for (const auto& [k, v] : lines_) std::printf("%-22s %s\n", k.c_str(), v.c_str());
  boost::json::object out{{"scenario", scenario_}};
  for (const auto& kv : json) out.emplace(kv.key(), kv.value());
  out["label"] = label_;
  out["machine"] = machine_info();
  out["build"] = SL_BENCH_BUILD_TYPE;
  out["commit"] = build_commit();
  std::cout << boost::json::serialize(out) << std::endl;
}

}  // namespace sl::bench
