#include "connections_scenario.hpp"

#include <unistd.h>
#include <atomic>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "child_process.hpp"
#include "fixture.hpp"
#include "frame_scan.hpp"
#include "histogram.hpp"
#include "loops.hpp"
#include "report.hpp"
#include "scenario_common.hpp"
#include "ws_client.hpp"

namespace sl::bench {
namespace {

namespace json = boost::json;

// One process's share of the sockets: j = shard, shard + procs, ...
class share {
 public:
  share(const connections_options& o, std::vector<std::string> tokens, int shard, int procs)
      : o_(o), tokens_(std::move(tokens)), io_(o.threads), latency_(io_.size()) {
    for (auto j = static_cast<std::size_t>(shard); j < static_cast<std::size_t>(o.connections);
         j += static_cast<std::size_t>(procs))
      index_.push_back(j);
    sockets_.resize(index_.size());
  }
  ~share() { drop(); }

  json::object connect() {
    const auto urls = parse_ws_urls(o_.ws);
    std::atomic<std::uint64_t> failed{0};
    std::string first_error;
    std::mutex mu;
    const auto start = now_ns();
    io_.for_each(index_.size(), o_.concurrency, [&](std::size_t i) -> task<void> {
      const auto j = index_[i];
      const auto& url = urls[j % urls.size()];
      const auto source = source_address(j, o_.sources, url);
      auto ws = std::make_unique<ws_client>(io_.at(i).get_executor());
      const auto t0 = now_ns();
      try {
        co_await ws->connect(url, tokens_[j / static_cast<std::size_t>(o_.sockets_per_user)], source);
        latency_[i % io_.size()].record(static_cast<double>(now_ns() - t0) / 1000.0);
        sockets_[i] = std::move(ws);
      } catch (const std::exception& e) {
        if (failed++ == 0) {
          std::lock_guard lock(mu);
          first_error = e.what();
        }
      }
    });
    const auto end = now_ns();
    histogram all;
    for (auto& h : latency_) all.merge(h);
    json::array buckets;
    all.for_each_bucket([&](std::size_t i, std::uint64_t n) { buckets.push_back(json::array{i, n}); });
    return {{"connected", index_.size() - failed.load()},
            {"failed", failed.load()},
            {"first_error", first_error},
            {"start_ns", start},
            {"end_ns", end},
            {"latency", buckets},
            {"latency_max_us", all.max_us()}};
  }

  // Sends a ping on every socket and counts the pongs.
  std::uint64_t ping() {
    std::atomic<std::uint64_t> alive{0};
    io_.for_each(sockets_.size(), o_.concurrency, [&](std::size_t i) -> task<void> {
      if (!sockets_[i]) co_return;
      try {
        co_await sockets_[i]->send(R"({"type":"ping"})");
        for (;;)
          if (frame_type(co_await sockets_[i]->read()) == "pong") break;
        ++alive;
      } catch (const std::exception&) {
      }
    });
    return alive.load();
  }

  void drop() {
    for (std::size_t i = 0; i < sockets_.size(); ++i)
      if (sockets_[i]) io_.on(i, [&, i] { sockets_[i].reset(); });
  }

 private:
  const connections_options& o_;
  std::vector<std::string> tokens_;
  loops io_;
  std::vector<histogram> latency_;
  std::vector<std::size_t> index_;
  std::vector<std::unique_ptr<ws_client>> sockets_;
};

std::vector<std::string> read_plan(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto plan = json::parse(text);  // kept alive: the loop walks inside it
  std::vector<std::string> tokens;
  for (const auto& t : plan.as_object().at("tokens").as_array()) tokens.emplace_back(t.as_string());
  return tokens;
}

// A child: connects its share, then answers the parent's "ping" and "quit".
int run_child(const connections_options& o) {
  share s(o, read_plan(o.plan), o.shard, o.procs);
  std::cout << json::serialize(s.connect()) << std::endl;
  for (std::string line; std::getline(std::cin, line);) {
    if (line == "ping") std::cout << json::serialize(json::object{{"alive", s.ping()}}) << std::endl;
    if (line == "quit") break;
  }
  return 0;
}

}  // namespace

int run_connections(const connections_options& o) {
  if (o.shard >= 0) return run_child(o);
  if (o.connections < 1 || o.procs < 1 || o.sockets_per_user < 1) {
    std::cerr << "connections: need connections >= 1, procs >= 1, sockets-per-user >= 1\n";
    return 2;
  }
  const auto pids = server_pids(o.server_pids);
  std::vector<bench_user> users;
  run_blocking([&]() -> task<void> {
    fixture fx(endpoint::parse(o.api));
    users = co_await fx.users((o.connections + o.sockets_per_user - 1) / o.sockets_per_user);
  });
  std::vector<std::string> tokens;
  for (auto& u : users) tokens.push_back(u.token);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto rss0 = rss_bytes(pids);
  const auto cpu0 = cpu_seconds(pids);

  std::vector<json::object> parts;
  std::unique_ptr<share> inline_share;
  std::vector<std::unique_ptr<child_process>> children;
  if (o.procs == 1) {
    inline_share = std::make_unique<share>(o, tokens, 0, 1);
    parts.push_back(inline_share->connect());
  } else {
    const auto plan = "/tmp/signalink-bench-plan-" + std::to_string(getpid()) + ".json";
    {
      json::array t;
      for (auto& s : tokens) t.push_back(json::string(s));
      std::ofstream(plan) << json::serialize(json::object{{"tokens", t}});
    }
    for (int i = 0; i < o.procs; ++i) {
      std::vector<std::string> args{"connections", "--api", o.api, "--ws", o.ws, "--plan", plan};
      auto add = [&args](const char* name, auto value) {
        args.emplace_back(name);
        args.push_back(std::to_string(value));
      };
      add("--connections", o.connections);
      add("--sources", o.sources);
      add("--concurrency", o.concurrency);
      add("--sockets-per-user", o.sockets_per_user);
      add("--threads", o.threads);
      add("--procs", o.procs);
      add("--shard", i);
      children.push_back(std::make_unique<child_process>(args));
    }
    for (auto& c : children) parts.push_back(json::parse(c->read_line()).as_object());
    std::remove(plan.c_str());
  }
  const auto cpu1 = cpu_seconds(pids);

  std::uint64_t connected = 0, failed = 0;
  std::int64_t start = INT64_MAX, end = 0;
  histogram latency;
  std::string first_error;
  for (auto& p : parts) {
    connected += p.at("connected").to_number<std::uint64_t>();
    failed += p.at("failed").to_number<std::uint64_t>();
    start = std::min(start, p.at("start_ns").to_number<std::int64_t>());
    end = std::max(end, p.at("end_ns").to_number<std::int64_t>());
    const double max_us = p.at("latency_max_us").to_number<double>();
    for (const auto& b : p.at("latency").as_array())
      latency.add_bucket(b.as_array()[0].to_number<std::size_t>(), b.as_array()[1].to_number<std::uint64_t>(), max_us);
    if (first_error.empty()) first_error = std::string(p.at("first_error").as_string());
  }
  const double connect_s = static_cast<double>(end - start) / 1e9;
  std::this_thread::sleep_for(seconds(o.hold_s));
  const auto rss1 = rss_bytes(pids);

  std::uint64_t alive = 0;
  if (inline_share) {
    alive = inline_share->ping();
    inline_share.reset();
  } else {
    for (auto& c : children) c->send_line("ping");
    for (auto& c : children) alive += json::parse(c->read_line()).as_object().at("alive").to_number<std::uint64_t>();
    for (auto& c : children) c->send_line("quit");
    children.clear();
  }

  const double rate = connect_s > 0 ? static_cast<double>(connected) / connect_s : 0;
  const double per_socket =
      connected ? (static_cast<double>(rss1) - static_cast<double>(rss0)) / static_cast<double>(connected) : 0;
  result r("connections", o.label);
  r.line("load", std::to_string(o.connections) + " sockets, " + std::to_string(o.procs) + " generator process(es), " +
                     std::to_string(o.sources) + " source addresses, " + std::to_string(parse_ws_urls(o.ws).size()) +
                     " gateway(s)");
  r.line("connected / failed", std::to_string(connected) + " / " + std::to_string(failed) +
                                   (first_error.empty() ? "" : " (first error: " + first_error + ")"));
  r.line("connect rate", fmt(rate, 0) + " sockets/s (" + fmt(connect_s, 2) + " s)");
  r.latency(latency, "connect latency ms");
  r.line("alive after hold", std::to_string(alive) + " (ping answered after " + fmt(o.hold_s, 0) + " s idle)");
  r.line("server RSS", fmt(static_cast<double>(rss0) / 1048576.0, 1) + " MiB empty -> " +
                           fmt(static_cast<double>(rss1) / 1048576.0, 1) + " MiB (" + std::to_string(pids.size()) +
                           " process(es))");
  r.line("RSS per socket", fmt(per_socket / 1024.0, 2) + " KiB");
  r.line("server CPU", fmt(connect_s > 0 ? (cpu1 - cpu0) / connect_s : 0, 2) + " cores while connecting");
  r.json = {{"connections", o.connections},
            {"procs", o.procs},
            {"sources", o.sources},
            {"nodes", parse_ws_urls(o.ws).size()},
            {"connected", connected},
            {"failed", failed},
            {"alive", alive},
            {"connect_s", connect_s},
            {"connects_per_s", rate},
            {"server_rss_empty_bytes", rss0},
            {"server_rss_bytes", rss1},
            {"rss_per_socket_bytes", per_socket},
            {"server_cpu_cores", connect_s > 0 ? (cpu1 - cpu0) / connect_s : 0}};
  r.add_latency(latency, "connect_");
  r.print();
  return failed == 0 && alive == connected ? 0 : 1;
}

}  // namespace sl::bench
