#include "write_scenario.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "base/random.hpp"
#include "histogram.hpp"
#include "http_client.hpp"
#include "report.hpp"

namespace sl::bench {
namespace {

namespace asio = boost::asio;
using clock_type = std::chrono::steady_clock;

struct client_state {
  std::string token;
  std::string channel_id;
  histogram latency;
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
};

std::string field(const std::string& body, const char* name) {
  auto v = boost::json::parse(body);
  return std::string(v.as_object().at(name).as_string());
}

task<void> prepare(const write_options& o, std::vector<client_state>& clients) {
  http_client http(co_await asio::this_coro::executor, endpoint::parse(o.api));
  const auto tag = random_hex(4);
  std::vector<std::string> channel_ids;
  for (int i = 0; i < o.clients; ++i) {
    const auto name = "bench_" + tag + "_" + std::to_string(i);
    boost::json::object reg{{"username", name}, {"email", name + "@bench.test"}, {"password", "benchpass123"}};
    auto r = co_await http.request("POST", "/api/v1/users/register", boost::json::serialize(reg));
    if (r.status != 201) throw std::runtime_error("register failed: " + std::to_string(r.status) + " " + r.body);
    auto l = co_await http.request(
        "POST", "/api/v1/users/login",
        boost::json::serialize(boost::json::object{{"username", name}, {"password", "benchpass123"}}));
    if (l.status != 200) throw std::runtime_error("login failed: " + l.body);
    clients[i].token = field(l.body, "access_token");
    if (i < o.channels) {
      boost::json::object ch{{"name", "bench-" + tag + "-" + std::to_string(i)}};
      auto c = co_await http.request("POST", "/api/v1/channels/", boost::json::serialize(ch), clients[i].token);
      if (c.status != 201) throw std::runtime_error("create channel failed: " + c.body);
      channel_ids.push_back(field(c.body, "id"));
    }
  }
  for (int i = 0; i < o.clients; ++i) {
    clients[i].channel_id = channel_ids[i % o.channels];
    if (i >= o.channels) {
      auto j =
          co_await http.request("POST", "/api/v1/channels/" + clients[i].channel_id + "/join", "", clients[i].token);
      if (j.status != 201) throw std::runtime_error("join failed: " + j.body);
    }
  }
}

task<void> writer(const write_options& o, client_state& st, clock_type::time_point measure_from,
                  clock_type::time_point until) {
  http_client http(co_await asio::this_coro::executor, endpoint::parse(o.api));
  const std::string content(static_cast<std::size_t>(o.content_bytes), 'x');
  const auto body = boost::json::serialize(boost::json::object{{"channel_id", st.channel_id}, {"content", content}});
  while (clock_type::now() < until) {
    const auto t0 = clock_type::now();
    auto r = co_await http.request("POST", "/api/v1/messages/", body, st.token);
    const auto t1 = clock_type::now();
    if (t0 < measure_from) continue;
    if (r.status == 201) {
      ++st.sent;
      st.latency.record(std::chrono::duration<double, std::micro>(t1 - t0).count());
    } else {
      ++st.errors;
    }
  }
}

}  // namespace

int run_write(const write_options& o) {
  if (o.clients < 1 || o.channels < 1 || o.channels > o.clients) {
    std::cerr << "write: need 1 <= channels <= clients\n";
    return 2;
  }
  std::vector<client_state> clients(static_cast<std::size_t>(o.clients));
  asio::io_context ctx(static_cast<int>(o.threads));
  {
    auto f = asio::co_spawn(ctx, prepare(o, clients), asio::use_future);
    ctx.run();
    f.get();
    ctx.restart();
  }
  const auto start = clock_type::now();
  const auto measure_from =
      start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.warmup_s));
  const auto until =
      measure_from + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.duration_s));
  std::vector<std::future<void>> done;
  done.reserve(clients.size());
  for (auto& c : clients) done.push_back(asio::co_spawn(ctx, writer(o, c, measure_from, until), asio::use_future));
  double server_cpu0 = 0, self_cpu0 = 0;
  {
    // Sample CPU at the start of the measured window, from a timer on the same loop.
    asio::steady_timer t(ctx, measure_from);
    t.async_wait([&](auto) {
      server_cpu0 = o.server_pid ? cpu_seconds(o.server_pid) : -1;
      self_cpu0 = cpu_seconds(0);
    });
    std::vector<std::thread> extra;
    for (unsigned i = 1; i < o.threads; ++i) extra.emplace_back([&] { ctx.run(); });
    ctx.run();
    for (auto& th : extra) th.join();
  }
  const double server_cpu = o.server_pid ? cpu_seconds(o.server_pid) - server_cpu0 : -1;
  const double self_cpu = cpu_seconds(0) - self_cpu0;
  for (auto& f : done) f.get();

  histogram all;
  std::uint64_t sent = 0, errors = 0;
  for (auto& c : clients) {
    all.merge(c.latency);
    sent += c.sent;
    errors += c.errors;
  }
  const double rate = static_cast<double>(sent) / o.duration_s;
  std::printf("%-22s %s\n", "scenario", "write (REST POST /api/v1/messages/)");
  std::printf("%-22s %d clients, %d channels, %.0f s (+%.0f s warm-up)\n", "load", o.clients, o.channels, o.duration_s,
              o.warmup_s);
  std::printf("%-22s %.0f\n", "messages/s", rate);
  std::printf("%-22s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n", "latency ms", all.quantile_us(0.5) / 1000,
              all.quantile_us(0.9) / 1000, all.quantile_us(0.99) / 1000, all.quantile_us(0.999) / 1000,
              all.max_us() / 1000);
  std::printf("%-22s %llu\n", "errors", static_cast<unsigned long long>(errors));
  if (server_cpu >= 0) std::printf("%-22s %.2f cores\n", "server CPU", server_cpu / o.duration_s);
  std::printf("%-22s %.2f cores\n", "generator CPU", self_cpu / o.duration_s);

  boost::json::object out{{"scenario", "write"},
                          {"transport", "rest"},
                          {"label", o.label},
                          {"clients", o.clients},
                          {"channels", o.channels},
                          {"duration_s", o.duration_s},
                          {"messages", sent},
                          {"messages_per_s", rate},
                          {"p50_ms", all.quantile_us(0.5) / 1000},
                          {"p90_ms", all.quantile_us(0.9) / 1000},
                          {"p99_ms", all.quantile_us(0.99) / 1000},
                          {"p999_ms", all.quantile_us(0.999) / 1000},
                          {"max_ms", all.max_us() / 1000},
                          {"errors", errors},
                          {"server_cpu_cores", server_cpu >= 0 ? server_cpu / o.duration_s : -1},
                          {"generator_cpu_cores", self_cpu / o.duration_s},
                          {"machine", machine_info()},
                          {"build", SL_BENCH_BUILD_TYPE},
                          {"commit", build_commit()}};
  std::cout << boost::json::serialize(out) << std::endl;
  return errors == 0 ? 0 : 1;
}

}  // namespace sl::bench
