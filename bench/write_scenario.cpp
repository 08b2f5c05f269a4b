#include "write_scenario.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <deque>
#include <iostream>
#include <thread>

#include "fixture.hpp"
#include "frame_scan.hpp"
#include "histogram.hpp"
#include "http_client.hpp"
#include "loops.hpp"
#include "report.hpp"
#include "scenario_common.hpp"
#include "ws_client.hpp"

namespace sl::bench {
namespace {

namespace asio = boost::asio;

struct client_state {
  bench_user user;
  std::string channel_id;
  histogram latency;
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
};

task<void> rest_writer(const write_options& o, client_state& st, clock_type::time_point measure_from,
                       clock_type::time_point until) {
  http_client http(co_await asio::this_coro::executor, endpoint::parse(o.api));
  const std::string content(static_cast<std::size_t>(o.content_bytes), 'x');
  const auto body = boost::json::serialize(boost::json::object{{"channel_id", st.channel_id}, {"content", content}});
  while (clock_type::now() < until) {
    const auto t0 = clock_type::now();
    auto r = co_await http.request("POST", "/api/v1/messages/", body, st.user.token);
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

// Keeps `pipeline` sends in flight; acknowledgements come back in order.
task<void> ws_writer(const write_options& o, client_state& st, clock_type::time_point measure_from,
                     clock_type::time_point until) {
  ws_client ws(co_await asio::this_coro::executor);
  co_await ws.connect(ws_url::parse(o.ws), st.user.token);
  const std::string text = R"({"type":"message.send","channel_id":")" + st.channel_id + R"(","content":")" +
                           std::string(static_cast<std::size_t>(o.content_bytes), 'x') + R"("})";
  std::deque<clock_type::time_point> in_flight;
  auto fill = [&]() -> task<void> {
    while (in_flight.size() < static_cast<std::size_t>(std::max(1, o.pipeline)) && clock_type::now() < until) {
      in_flight.push_back(clock_type::now());
      co_await ws.send(text);
    }
  };
  co_await fill();
  while (!in_flight.empty()) {
    const auto f = co_await ws.read();
    const auto type = frame_type(f);
    if (type != "message.ack" && type != "error") continue;
    const auto t0 = in_flight.front();
    in_flight.pop_front();
    if (t0 >= measure_from) {
      if (type == "message.ack") {
        ++st.sent;
        st.latency.record(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
      } else {
        ++st.errors;
      }
    }
    co_await fill();
  }
}

}  // namespace

int run_write(const write_options& o) {
  if (o.clients < 1 || o.channels < 1 || o.channels > o.clients || (o.transport != "rest" && o.transport != "ws")) {
    std::cerr << "write: need 1 <= channels <= clients and --transport rest|ws\n";
    return 2;
  }
  const auto pids = server_pids(o.server_pids);
  std::vector<client_state> clients(static_cast<std::size_t>(o.clients));
  std::vector<std::string> channel_ids;
  run_blocking([&]() -> task<void> {
    fixture fx(endpoint::parse(o.api));
    auto users = co_await fx.users(o.clients);
    const std::vector<bench_user> owners(users.begin(), users.begin() + o.channels);
    channel_ids = co_await fx.channels(owners, o.channels);
    std::vector<const bench_user*> joiners;
    std::vector<std::string> joined;
    for (std::size_t i = 0; i < users.size(); ++i) {
      clients[i].user = users[i];
      clients[i].channel_id = channel_ids[i % channel_ids.size()];
      if (i >= owners.size()) {
        joiners.push_back(&users[i]);
        joined.push_back(clients[i].channel_id);
      }
    }
    co_await fx.join(joiners, joined);
  });

  loops io(o.threads);
  const auto start = clock_type::now() + std::chrono::milliseconds(200);
  const auto measure_from = start + seconds(o.warmup_s);
  const auto until = measure_from + seconds(o.duration_s);
  auto done = io.spawn_each(clients.size(), [&](std::size_t i) {
    return o.transport == "ws" ? ws_writer(o, clients[i], measure_from, until)
                               : rest_writer(o, clients[i], measure_from, until);
  });
  std::this_thread::sleep_until(measure_from);
  const double server_cpu0 = cpu_seconds(pids), self_cpu0 = cpu_seconds(0);
  std::this_thread::sleep_until(until);
  const double server_cpu = cpu_seconds(pids) - server_cpu0, self_cpu = cpu_seconds(0) - self_cpu0;
  for (auto& f : done) f.get();

  histogram all;
  std::uint64_t sent = 0, errors = 0;
  for (auto& c : clients) {
    all.merge(c.latency);
    sent += c.sent;
    errors += c.errors;
  }
  const double rate = static_cast<double>(sent) / o.duration_s;
  result r("write", o.label);
  r.line("transport", o.transport == "ws" ? "WebSocket message.send (ack = committed)"
                                          : "REST POST /api/v1/messages/ (201 = committed)");
  r.line("load", std::to_string(o.clients) + " clients, " + std::to_string(o.channels) + " channels, " +
                     std::to_string(o.transport == "ws" ? o.pipeline : 1) + " in flight each, " + fmt(o.duration_s, 0) +
                     " s (+" + fmt(o.warmup_s, 0) + " s warm-up)");
  r.line("messages/s", fmt(rate, 0));
  r.latency(all);
  r.line("errors", std::to_string(errors));
  r.cpu(server_cpu, self_cpu, o.duration_s, pids.size());
  r.json = {{"transport", o.transport},
            {"clients", o.clients},
            {"channels", o.channels},
            {"pipeline", o.transport == "ws" ? o.pipeline : 1},
            {"duration_s", o.duration_s},
            {"messages", sent},
            {"messages_per_s", rate},
            {"errors", errors},
            {"channel_ids", boost::json::value_from(channel_ids)}};
  r.add_latency(all);
  r.add_cpu(server_cpu, self_cpu, o.duration_s);
  r.print();
  return errors == 0 ? 0 : 1;
}

}  // namespace sl::bench
