#include "publishers.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

#include "frame_scan.hpp"
#include "scenario_common.hpp"

namespace sl::bench {

namespace asio = boost::asio;

struct publishers::socket {
  std::unique_ptr<ws_client> ws;
  std::vector<std::size_t> channels;
  std::deque<std::pair<std::size_t, std::int64_t>> unacked;  // channel, stamp
  std::vector<std::uint64_t> acked_in_window;
  std::uint64_t sent = 0;
  std::uint64_t errors = 0;
  std::int64_t max_lag_ns = 0;
};

cast prepare_cast(const std::string& api, std::size_t n_publishers, std::size_t channels, std::size_t sockets,
                  int per_user) {
  cast c;
  c.per_user = static_cast<std::size_t>(std::max(1, per_user));
  run_blocking([&]() -> task<void> {
    fixture fx(endpoint::parse(api));
    c.publishers = co_await fx.users(static_cast<int>(n_publishers));
    c.channel_ids = co_await fx.channels(c.publishers, static_cast<int>(channels));
    co_await publishers::join_channels(fx, c.publishers, c.channel_ids);
    c.subscribers = co_await fx.users(static_cast<int>((sockets + c.per_user - 1) / c.per_user));
  });
  return c;
}

publishers::publishers(loops& io, std::vector<std::string> channel_ids, std::size_t count, int content_bytes)
    : io_(io),
      channel_ids_(std::move(channel_ids)),
      content_bytes_(content_bytes),
      max_seq_(new std::atomic<std::int64_t>[channel_ids_.size()]) {
  for (std::size_t c = 0; c < channel_ids_.size(); ++c) max_seq_[c] = 0;
  auto plan = assignment(count, channel_ids_.size());
  for (std::size_t i = 0; i < count; ++i) {
    sockets_.push_back(std::make_unique<socket>());
    sockets_.back()->acked_in_window.assign(channel_ids_.size(), 0);
    sockets_.back()->channels = std::move(plan[i]);
  }
}

std::vector<std::vector<std::size_t>> publishers::assignment(std::size_t count, std::size_t channels) {
  // Fewer publishers than channels: each serves every P-th channel; more:
  // each channel has several publishers.
  std::vector<std::vector<std::size_t>> plan(count);
  if (count <= channels)
    for (std::size_t c = 0; c < channels; ++c) plan[c % count].push_back(c);
  else
    for (std::size_t i = 0; i < count; ++i) plan[i].push_back(i % channels);
  return plan;
}

task<void> publishers::join_channels(fixture& fx, const std::vector<bench_user>& users,
                                     const std::vector<std::string>& channel_ids) {
  const auto plan = assignment(users.size(), channel_ids.size());
  std::vector<const bench_user*> who;
  std::vector<std::string> where;
  for (std::size_t i = 0; i < plan.size(); ++i)
    for (const auto c : plan[i])
      if (c % users.size() != i) {
        who.push_back(&users[i]);
        where.push_back(channel_ids[c]);
      }
  co_await fx.join(who, where);
}

publishers::~publishers() { drop(); }

void publishers::connect(const std::vector<bench_user>& users, const std::vector<ws_url>& urls, int concurrency) {
  io_.for_each(sockets_.size(), concurrency, [&](std::size_t i) -> task<void> {
    sockets_[i]->ws = std::make_unique<ws_client>(io_.at(i).get_executor());
    co_await sockets_[i]->ws->connect(urls[i % urls.size()], users[i].token);
  });
}

void publishers::start(clock_type::time_point start, clock_type::time_point until, double rate, window w) {
  readers_ = io_.spawn_each(sockets_.size(), [this, w](std::size_t i) { return read_acks(i, w); });
  running_ = io_.spawn_each(sockets_.size(),
                            [this, start, until, rate](std::size_t i) { return send_loop(i, start, until, rate); });
}

task<void> publishers::send_loop(std::size_t i, clock_type::time_point start, clock_type::time_point until,
                                 double rate) {
  auto& p = *sockets_[i];
  if (p.channels.empty()) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const std::string pad(static_cast<std::size_t>(std::max(0, content_bytes_ - 21)), 'x');
  const auto period = std::chrono::duration<double>(1.0 / rate);
  const auto n = sockets_.size();
  std::string text;
  for (std::uint64_t k = 0;; ++k) {
    // Message k of publisher i is message k * P + i of the whole schedule.
    const auto at = start + std::chrono::duration_cast<clock_type::duration>(period * static_cast<double>(k * n + i));
    if (at >= until || stopped_.load(std::memory_order_relaxed)) break;
    if (at > clock_type::now()) {
      timer.expires_at(at);
      co_await timer.async_wait(asio::use_awaitable);
    }
    const auto stamp = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
    p.max_lag_ns = std::max(p.max_lag_ns, now_ns() - stamp);
    const auto channel = p.channels[k % p.channels.size()];
    text.clear();
    text.append(R"({"type":"message.send","channel_id":")")
        .append(channel_ids_[channel])
        .append(R"(","content":"b)")
        .append(std::to_string(stamp))
        .append(" ")
        .append(pad)
        .append(R"("})");
    p.unacked.emplace_back(channel, stamp);
    ++p.sent;
    co_await p.ws->send(text);
  }
}

task<void> publishers::read_acks(std::size_t i, window w) {
  auto& p = *sockets_[i];
  try {
    for (;;) {
      const auto f = co_await p.ws->read();
      const auto type = frame_type(f);
      if ((type != "message.ack" && type != "error") || p.unacked.empty()) continue;
      const auto [channel, stamp] = p.unacked.front();
      p.unacked.pop_front();
      if (type == "error") {
        ++p.errors;
        continue;
      }
      const auto seq = int_field(f, R"("seq":)");
      if (seq > max_seq_[channel].load(std::memory_order_relaxed))
        max_seq_[channel].store(seq, std::memory_order_release);
      if (w.contains(stamp)) ++p.acked_in_window[channel];
    }
  } catch (const std::exception&) {
    // Dropped at the end of the run.
  }
}

void publishers::finish(clock_type::time_point deadline) {
  for (auto& f : running_) f.get();
  running_.clear();
  for (;;) {
    std::size_t pending = 0;
    for (std::size_t i = 0; i < sockets_.size(); ++i) io_.on(i, [&, i] { pending += sockets_[i]->unacked.size(); });
    if (pending == 0 || clock_type::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void publishers::drop() {
  for (auto& f : running_) f.wait();
  running_.clear();
  for (std::size_t i = 0; i < sockets_.size(); ++i)
    if (sockets_[i]->ws) io_.on(i, [&, i] { sockets_[i]->ws->drop(); });
  for (auto& f : readers_) f.wait();
  readers_.clear();
}

std::uint64_t publishers::acked_in_window(std::size_t c) const {
  std::uint64_t n = 0;
  for (const auto& p : sockets_) n += p->acked_in_window[c];
  return n;
}

std::uint64_t publishers::sent() const {
  std::uint64_t n = 0;
  for (const auto& p : sockets_) n += p->sent;
  return n;
}

std::uint64_t publishers::errors() const {
  std::uint64_t n = 0;
  for (const auto& p : sockets_) n += p->errors;
  return n;
}

double publishers::max_lag_ms() const {
  std::int64_t lag = 0;
  for (const auto& p : sockets_) lag = std::max(lag, p->max_lag_ns);
  return static_cast<double>(lag) / 1e6;
}

}  // namespace sl::bench
