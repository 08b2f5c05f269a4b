#include "fanout_scenario.hpp"

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "fixture.hpp"
#include "frame_scan.hpp"
#include "histogram.hpp"
#include "loops.hpp"
#include "publishers.hpp"
#include "report.hpp"
#include "scenario_common.hpp"
#include "ws_client.hpp"

namespace sl::bench {
namespace {

namespace asio = boost::asio;

// Counters of one generator thread; written only there, read by the main
// thread after the sockets are dropped (the atomic one while running).
struct thread_stats {
  histogram latency;
  std::atomic<std::uint64_t> in_window{0};
  std::uint64_t duplicated = 0;
  std::uint64_t gaps = 0;
  std::uint64_t received = 0;
};

struct subscriber_socket {
  std::unique_ptr<ws_client> ws;
  std::size_t channel = 0;
  std::int64_t last_seq = -1;
};

task<void> receive(subscriber_socket& s, thread_stats& ts, window w) {
  try {
    for (;;) {
      const auto f = co_await s.ws->read();
      const auto now = now_ns();
      if (frame_type(f) != "message.receive") continue;
      ++ts.received;
      const auto seq = int_field(f, R"("seq":)");
      if (seq <= s.last_seq) {
        ++ts.duplicated;
        continue;
      }
      if (s.last_seq >= 0 && seq > s.last_seq + 1) ts.gaps += static_cast<std::uint64_t>(seq - s.last_seq - 1);
      s.last_seq = seq;
      const auto stamp = int_field(f, R"("content":"b)");
      if (!w.contains(stamp)) continue;
      ts.latency.record(static_cast<double>(now - stamp) / 1000.0);
      ts.in_window.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (const std::exception&) {
    // The run dropped the socket, or the server closed it: either way it is over.
  }
}

}  // namespace

int run_fanout(const fanout_options& o) {
  if (o.channels < 1 || o.subscribers < 0 || o.rate <= 0 || o.duration_s <= 0) {
    std::cerr << "fanout: need channels >= 1, subscribers >= 0, rate > 0, duration > 0\n";
    return 2;
  }
  const auto urls = parse_ws_urls(o.ws);
  const auto channels = static_cast<std::size_t>(o.channels);
  const auto n_subs = channels * static_cast<std::size_t>(o.subscribers);
  const auto n_pubs = static_cast<std::size_t>(o.publishers > 0 ? o.publishers : std::min(o.channels, 16));
  const auto pids = server_pids(o.server_pids);

  const auto who = prepare_cast(o.api, n_pubs, channels, n_subs, o.sockets_per_user);
  const auto& channel_ids = who.channel_ids;
  std::fprintf(stderr, "fanout: %zu users and %zu channels ready\n", who.subscribers.size() + who.publishers.size(),
               channels);

  loops io(o.threads);
  std::vector<thread_stats> stats(io.size());
  std::vector<subscriber_socket> subs(n_subs);
  publishers pubs(io, channel_ids, n_pubs, o.content_bytes);

  const auto t_connect = clock_type::now();
  io.for_each(n_subs, o.connect_concurrency, [&](std::size_t i) -> task<void> {
    auto& s = subs[i];
    s.channel = i % channels;
    s.ws = std::make_unique<ws_client>(io.at(i).get_executor());
    co_await connect_socket(*s.ws, i, urls, o.sources, who.subscriber_of(i).token);
    co_await subscribe(*s.ws, channel_ids[s.channel]);
  });
  const double connect_s = std::chrono::duration<double>(clock_type::now() - t_connect).count();
  pubs.connect(who.publishers, urls, o.connect_concurrency);
  std::fprintf(stderr, "fanout: %zu subscribers connected and subscribed in %.2f s\n", n_subs, connect_s);

  const auto start = clock_type::now() + std::chrono::milliseconds(100);
  const auto measure_from = start + seconds(o.warmup_s);
  const auto until = measure_from + seconds(o.duration_s);
  const window w{std::chrono::duration_cast<std::chrono::nanoseconds>(measure_from.time_since_epoch()).count(),
                 std::chrono::duration_cast<std::chrono::nanoseconds>(until.time_since_epoch()).count()};

  auto receivers = io.spawn_each(n_subs, [&](std::size_t i) { return receive(subs[i], stats[i % io.size()], w); });
  pubs.start(start, until, o.rate, w);

  std::this_thread::sleep_until(measure_from);
  const double server_cpu0 = cpu_seconds(pids), self_cpu0 = cpu_seconds(0);
  std::this_thread::sleep_until(until);
  const double server_cpu = cpu_seconds(pids) - server_cpu0, self_cpu = cpu_seconds(0) - self_cpu0;

  // Wait for the acknowledgements, then for the deliveries they promise.
  const auto deadline = until + seconds(o.drain_s);
  pubs.finish(deadline);
  std::uint64_t published = 0;
  for (std::size_t c = 0; c < channels; ++c) published += pubs.acked_in_window(c);
  const auto expected = published * static_cast<std::uint64_t>(o.subscribers);
  auto in_window = [&] {
    std::uint64_t n = 0;
    for (auto& s : stats) n += s.in_window.load(std::memory_order_relaxed);
    return n;
  };
  while (in_window() < expected && clock_type::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  for (std::size_t i = 0; i < n_subs; ++i) io.on(i, [&, i] { subs[i].ws->drop(); });
  pubs.drop();
  for (auto& f : receivers) f.get();

  histogram all;
  std::uint64_t delivered = 0, duplicated = 0, gaps = 0;
  for (auto& s : stats) {
    all.merge(s.latency);
    delivered += s.in_window.load();
    duplicated += s.duplicated;
    gaps += s.gaps;
  }
  const auto sent = pubs.sent(), errors = pubs.errors();
  const auto lag_ms = pubs.max_lag_ms();
  const auto lost = expected > delivered ? expected - delivered : 0;
  const double per_s = static_cast<double>(delivered) / o.duration_s;

  result r("fanout", o.label);
  r.line("load", std::to_string(o.channels) + " channels x " + std::to_string(o.subscribers) + " subscribers, " +
                     std::to_string(n_pubs) + " publishers, " + fmt(o.rate, 0) + " msg/s offered, " +
                     fmt(o.duration_s, 0) + " s (+" + fmt(o.warmup_s, 0) + " s warm-up)");
  r.line("published", std::to_string(published) + " in the window (" +
                          fmt(static_cast<double>(published) / o.duration_s, 0) + " msg/s)");
  r.line("deliveries/s", fmt(per_s, 0));
  r.latency(all);
  r.line("lost / duplicated",
         std::to_string(lost) + " / " + std::to_string(duplicated) + " (seq gaps seen " + std::to_string(gaps) + ")");
  r.line("send errors", std::to_string(errors));
  r.line("publisher lag max", fmt(lag_ms, 2) + " ms");
  r.cpu(server_cpu, self_cpu, o.duration_s, pids.size());
  r.json = {{"channels", o.channels},
            {"subscribers", o.subscribers},
            {"publishers", n_pubs},
            {"rate", o.rate},
            {"duration_s", o.duration_s},
            {"nodes", urls.size()},
            {"threads", io.size()},
            {"content_bytes", o.content_bytes},
            {"sent", sent},
            {"published", published},
            {"expected_deliveries", expected},
            {"deliveries", delivered},
            {"deliveries_per_s", per_s},
            {"lost", lost},
            {"duplicated", duplicated},
            {"seq_gaps", gaps},
            {"errors", errors},
            {"publisher_lag_max_ms", lag_ms},
            {"connect_s", connect_s}};
  r.add_latency(all);
  r.add_cpu(server_cpu, self_cpu, o.duration_s);
  r.print();
  return lost == 0 && duplicated == 0 && errors == 0 ? 0 : 1;
}

}  // namespace sl::bench
