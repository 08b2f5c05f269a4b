#pragma once
// The publishing side of the WebSocket scenarios: P sockets sending
// `message.send` on a fixed schedule (open loop) at a total rate, channel c
// served by publisher c % P (or, with more publishers than channels,
// publisher i sending to channel i % C). Each message's content starts with "b<ns>", its
// scheduled send time, so receivers take latency against the schedule (a
// late send counts against the server, as it would for a real client).
// Acknowledgements come back in send order on each socket.
//
// Threads: publisher i lives on context i of `loops`; totals are read after
// stop(); max_seq() at any time.

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "loops.hpp"
#include "report.hpp"
#include "ws_client.hpp"

namespace sl::bench {

struct window {
  std::int64_t from_ns = 0;
  std::int64_t until_ns = INT64_MAX;
  bool contains(std::int64_t t) const { return t >= from_ns && t < until_ns; }
};

// Who takes part in a publishing scenario, made through the REST API:
// `publishers` users, each a member of the channels it publishes to,
// `channels` public channels, and one subscriber user per `per_user` sockets.
struct cast {
  std::vector<bench_user> publishers;
  std::vector<std::string> channel_ids;
  std::vector<bench_user> subscribers;
  std::size_t per_user = 1;
  const bench_user& subscriber_of(std::size_t socket) const { return subscribers[socket / per_user]; }
};
cast prepare_cast(const std::string& api, std::size_t publishers, std::size_t channels, std::size_t sockets,
                  int per_user);

class publishers {
 public:
  publishers(loops& io, std::vector<std::string> channel_ids, std::size_t count, int content_bytes);
  ~publishers();

  // Which channels publisher i sends to, for `count` publishers.
  static std::vector<std::vector<std::size_t>> assignment(std::size_t count, std::size_t channels);
  // Makes every publisher a member of its channels; channel c was created by
  // users[c % users.size()] (fixture::channels), the others join.
  static task<void> join_channels(fixture& fx, const std::vector<bench_user>& users,
                                  const std::vector<std::string>& channel_ids);

  // Connects one socket per user (users.size() == count), through urls round robin.
  void connect(const std::vector<bench_user>& users, const std::vector<ws_url>& urls, int concurrency);
  // Publishes `rate` messages/s from `start` until `until`; acknowledged
  // messages stamped inside `w` are counted per channel.
  void start(clock_type::time_point start, clock_type::time_point until, double rate, window w);
  // Ends the schedule early (thread-safe).
  void stop() { stopped_.store(true); }
  // Waits until the schedule ended, then for the acknowledgements (until `deadline`).
  void finish(clock_type::time_point deadline);
  void drop();

  // The highest seq acknowledged so far in channel c (0: none).
  std::int64_t max_seq(std::size_t c) const { return max_seq_[c].load(std::memory_order_acquire); }
  std::uint64_t acked_in_window(std::size_t c) const;  // after finish()
  std::uint64_t sent() const;
  std::uint64_t errors() const;
  double max_lag_ms() const;
  std::size_t size() const { return sockets_.size(); }

 private:
  struct socket;
  task<void> send_loop(std::size_t i, clock_type::time_point start, clock_type::time_point until, double rate);
  task<void> read_acks(std::size_t i, window w);

  loops& io_;
  std::vector<std::string> channel_ids_;
  int content_bytes_;
  std::vector<std::unique_ptr<socket>> sockets_;
  std::unique_ptr<std::atomic<std::int64_t>[]> max_seq_;
  std::vector<std::future<void>> running_;
  std::vector<std::future<void>> readers_;
  std::atomic<bool> stopped_{false};
};

}  // namespace sl::bench
