#include "storm_scenario.hpp"

#include <atomic>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
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

// At most `n` reconnects in flight on one context (its thread only).
class limiter {
 public:
  explicit limiter(int n) : available_(n) {}
  task<void> acquire() {
    if (available_ > 0) {
      --available_;
      co_return;
    }
    asio::steady_timer t(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    waiters_.push_back(&t);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));  // cancelled: our turn
  }
  void release() {
    if (waiters_.empty()) {
      ++available_;
      return;
    }
    waiters_.front()->cancel();
    waiters_.pop_front();
  }

 private:
  int available_;
  std::deque<asio::steady_timer*> waiters_;
};

struct client {
  std::unique_ptr<ws_client> ws;
  std::size_t channel = 0;
  std::int64_t last_seq = 0;
  std::uint64_t gaps = 0;
  std::uint64_t duplicated = 0;
  bool reconnect = false;    // the next read failure is the storm: reconnect
  std::int64_t target = -1;  // the channel's last acknowledged seq at the drop
  std::int64_t dropped_ns = 0;
  std::int64_t recovered_after_ns = -1;
  bool told_not_recovered = false;
};

struct thread_counts {
  std::atomic<std::uint64_t> recovered{0};
  std::atomic<std::uint64_t> failed{0};
  histogram recovery;
};

// The client has everything acknowledged before the drop: it has recovered.
void note_recovery(client& c, thread_counts& tc) {
  if (c.target < 0 || c.recovered_after_ns >= 0 || c.last_seq < c.target) return;
  c.recovered_after_ns = now_ns() - c.dropped_ns;
  tc.recovery.record(static_cast<double>(c.recovered_after_ns) / 1000.0);
  tc.recovered.fetch_add(1, std::memory_order_relaxed);
}

void on_message(client& c, thread_counts& tc, std::string_view f) {
  if (frame_type(f) != "message.receive") return;
  const auto seq = int_field(f, R"("seq":)");
  if (seq <= c.last_seq) {
    ++c.duplicated;
    return;
  }
  if (seq > c.last_seq + 1) c.gaps += static_cast<std::uint64_t>(seq - c.last_seq - 1);
  c.last_seq = seq;
  note_recovery(c, tc);
}

}  // namespace

int run_storm(const storm_options& o) {
  if (o.clients < 1 || o.channels < 1 || o.rate <= 0) {
    std::cerr << "storm: need clients >= 1, channels >= 1, rate > 0\n";
    return 2;
  }
  const auto urls = parse_ws_urls(o.ws);
  const auto n = static_cast<std::size_t>(o.clients);
  const auto channels = static_cast<std::size_t>(o.channels);
  const auto n_pubs = static_cast<std::size_t>(o.publishers > 0 ? o.publishers : std::min(o.channels, 16));
  const auto pids = server_pids(o.server_pids);

  const auto who = prepare_cast(o.api, n_pubs, channels, n, o.sockets_per_user);
  const auto& channel_ids = who.channel_ids;

  loops io(o.threads);
  std::vector<thread_counts> counts(io.size());
  std::vector<limiter> limits;
  for (std::size_t t = 0; t < io.size(); ++t)
    limits.emplace_back(std::max<int>(1, o.concurrency / static_cast<int>(io.size())));
  std::vector<client> clients(n);
  io.for_each(n, o.concurrency, [&](std::size_t i) -> task<void> {
    auto& c = clients[i];
    c.channel = i % channels;
    c.ws = std::make_unique<ws_client>(io.at(i).get_executor());
    co_await connect_socket(*c.ws, i, urls, o.sources, who.subscriber_of(i).token);
    co_await subscribe(*c.ws, channel_ids[c.channel]);
  });
  std::fprintf(stderr, "storm: %zu clients subscribed\n", n);

  auto sessions = io.spawn_each(n, [&](std::size_t i) -> task<void> {
    auto& c = clients[i];
    auto& tc = counts[i % io.size()];
    auto& limit = limits[i % io.size()];
    for (;;) {
      try {
        for (;;) on_message(c, tc, co_await c.ws->read());
      } catch (const std::exception&) {
        if (!c.reconnect) co_return;  // the end of the run
      }
      c.reconnect = false;
      co_await limit.acquire();
      try {
        c.ws = std::make_unique<ws_client>(co_await asio::this_coro::executor);
        co_await connect_socket(*c.ws, i, urls, o.sources, who.subscriber_of(i).token);
        c.told_not_recovered = !co_await subscribe(*c.ws, channel_ids[c.channel], c.last_seq);
      } catch (const std::exception&) {
        tc.failed.fetch_add(1);
        limit.release();
        co_return;
      }
      limit.release();
      note_recovery(c, tc);
    }
  });

  publishers pubs(io, channel_ids, n_pubs, o.content_bytes);
  pubs.connect(who.publishers, urls, o.concurrency);
  const auto start = clock_type::now() + std::chrono::milliseconds(50);
  pubs.start(start, start + seconds(o.before_s + o.timeout_s + o.after_s), o.rate, window{});
  std::this_thread::sleep_until(start + seconds(o.before_s));

  // The storm: every connection reset at once, each client then reconnecting
  // with what it last saw.
  const double cpu0 = cpu_seconds(pids);
  const auto dropped = clock_type::now();
  io.apply(n, [&](std::size_t i) {
    auto& c = clients[i];
    c.target = pubs.max_seq(c.channel);
    c.dropped_ns = now_ns();
    c.reconnect = true;
    c.ws->drop();
  });
  auto recovered = [&] {
    std::uint64_t r = 0, f = 0;
    for (auto& t : counts) {
      r += t.recovered.load(std::memory_order_relaxed);
      f += t.failed.load(std::memory_order_relaxed);
    }
    return r + f;
  };
  while (recovered() < n && clock_type::now() < dropped + seconds(o.timeout_s))
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const double storm_s = std::chrono::duration<double>(clock_type::now() - dropped).count();
  const double cpu1 = cpu_seconds(pids);

  // Publishing goes on a little, then every client must catch up with the last acknowledged seq.
  std::this_thread::sleep_for(seconds(o.after_s));
  pubs.stop();
  pubs.finish(clock_type::now() + seconds(10));
  const auto drain_until = clock_type::now() + seconds(10);
  auto behind = [&] {
    std::atomic<std::uint64_t> missing{0};
    io.apply(n, [&](std::size_t i) {
      const auto last = pubs.max_seq(clients[i].channel);
      if (clients[i].last_seq < last) missing += static_cast<std::uint64_t>(last - clients[i].last_seq);
    });
    return missing.load();
  };
  std::uint64_t missing = behind();
  while (missing > 0 && clock_type::now() < drain_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    missing = behind();
  }
  io.apply(n, [&](std::size_t i) {
    clients[i].reconnect = false;
    clients[i].ws->drop();
  });
  for (auto& s : sessions) s.get();
  pubs.drop();

  histogram recovery;
  std::uint64_t done = 0, failed = 0, gaps = 0, duplicated = 0, not_recovered = 0;
  for (auto& t : counts) {
    recovery.merge(t.recovery);
    done += t.recovered.load();
    failed += t.failed.load();
  }
  for (auto& c : clients) {
    gaps += c.gaps;
    duplicated += c.duplicated;
    not_recovered += c.told_not_recovered ? 1 : 0;
  }
  const auto lost = gaps + missing;
  result r("storm", o.label);
  r.line("load", std::to_string(n) + " clients on " + std::to_string(o.channels) + " channels, " + fmt(o.rate, 0) +
                     " msg/s published throughout by " + std::to_string(n_pubs) + " publishers");
  r.line("recovered", std::to_string(done) + " of " + std::to_string(n) + " (" + std::to_string(failed) +
                          " reconnects failed, " + std::to_string(not_recovered) + " told recovered:false)");
  r.line("full recovery", fmt(recovery.max_us() / 1e6, 2) + " s after the drop");
  r.latency(recovery, "per client ms");
  r.line("lost / duplicated", std::to_string(lost) + " / " + std::to_string(duplicated));
  r.line("send errors", std::to_string(pubs.errors()));
  r.line("server CPU", fmt(storm_s > 0 ? (cpu1 - cpu0) / storm_s : 0, 2) + " cores during the storm");
  r.json = {{"clients", n},
            {"channels", o.channels},
            {"rate", o.rate},
            {"recovered", done},
            {"reconnects_failed", failed},
            {"told_not_recovered", not_recovered},
            {"full_recovery_s", recovery.max_us() / 1e6},
            {"lost", lost},
            {"duplicated", duplicated},
            {"errors", pubs.errors()},
            {"server_cpu_cores", storm_s > 0 ? (cpu1 - cpu0) / storm_s : 0}};
  r.add_latency(recovery, "recovery_");
  r.print();
  return done == n && lost == 0 && duplicated == 0 && not_recovered == 0 ? 0 : 1;
}

}  // namespace sl::bench
