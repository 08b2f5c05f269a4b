#pragma once
// Presence events for the event log (contract.md section 4): a user's first
// socket opening or last one closing, across nodes, as presence.online and
// presence.offline on signalink.presence (key: user id). They have no write
// of their own: record() only queues, and a flush every `interval` appends
// the queue in one batch, best effort (a failed batch is logged and dropped;
// the queue is bounded).
//
// Threads: record() from any thread; the flush loop runs on `ex`.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/broker.hpp"
#include "domain/event_log.hpp"

namespace sl::events {

inline constexpr const char* presence_topic = "signalink.presence";

// The envelope: event_id, event_type, timestamp, user_id.
domain::log_event presence_event(const user_id& u, domain::presence_status s, timestamp at);
// (new) presence.sockets, key: the node id: event_id, event_type, timestamp,
// user_id (null), node_id, sockets (open on that gateway node).
domain::log_event sockets_event(const std::string& node, std::int64_t sockets, timestamp at);

class presence_recorder {
 public:
  presence_recorder(boost::asio::any_io_executor ex, domain::event_sink& sink, const clock& clk,
                    std::chrono::milliseconds interval, std::size_t max_queued = 100000);

  void record(const user_id& u, domain::presence_status s);
  // Before start(): every `every` (at a flush), queues presence.sockets for
  // `node` with `count()`, unless it was 0 at the previous sample too.
  void sample_sockets(std::string node, std::function<std::int64_t()> count, std::chrono::milliseconds every);
  void start();
  // Flushes what is queued, then returns.
  task<void> stop();

 private:
  task<void> run();
  task<void> flush();

  boost::asio::any_io_executor ex_;
  domain::event_sink& sink_;
  const clock& clock_;
  std::chrono::milliseconds interval_;
  std::size_t max_queued_;
  std::mutex mu_;
  std::vector<domain::log_event> queue_;
  boost::asio::steady_timer timer_;
  bool stopping_ = false;
  std::string node_;
  std::function<std::int64_t()> count_;
  std::chrono::milliseconds sample_every_{0};
  std::chrono::steady_clock::time_point last_sample_{};
  std::int64_t last_count_ = 0;
};

}  // namespace sl::events
