#include "events/presence_recorder.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "base/log.hpp"

namespace sl::events {
namespace {
namespace asio = boost::asio;
}  // namespace

domain::log_event presence_event(const user_id& u, domain::presence_status s, timestamp at) {
  domain::log_event e;
  e.id = event_id::generate();
  e.topic = presence_topic;
  e.key = u.str();
  e.event_type = s == domain::presence_status::online ? "presence.online" : "presence.offline";
  e.created_at = at;
  e.payload = boost::json::serialize(boost::json::object{
      {"event_id", e.id.str()}, {"event_type", e.event_type}, {"timestamp", format_iso(at)}, {"user_id", u.str()}});
  return e;
}

domain::log_event sockets_event(const std::string& node, std::int64_t sockets, timestamp at) {
  domain::log_event e;
  e.id = event_id::generate();
  e.topic = presence_topic;
  e.key = node;
  e.event_type = "presence.sockets";
  e.created_at = at;
  e.payload = boost::json::serialize(boost::json::object{{"event_id", e.id.str()},
                                                         {"event_type", e.event_type},
                                                         {"timestamp", format_iso(at)},
                                                         {"user_id", nullptr},
                                                         {"node_id", node},
                                                         {"sockets", sockets}});
  return e;
}

presence_recorder::presence_recorder(asio::any_io_executor ex, domain::event_sink& sink, const clock& clk,
                                     std::chrono::milliseconds interval, std::size_t max_queued)
    : ex_(std::move(ex)), sink_(sink), clock_(clk), interval_(interval), max_queued_(max_queued), timer_(ex_) {}

void presence_recorder::record(const user_id& u, domain::presence_status s) {
  std::lock_guard lock(mu_);
  if (queue_.size() < max_queued_) queue_.push_back(presence_event(u, s, clock_.now()));
}

void presence_recorder::sample_sockets(std::string node, std::function<std::int64_t()> count,
                                       std::chrono::milliseconds every) {
  node_ = std::move(node);
  count_ = std::move(count);
  sample_every_ = every;
}

void presence_recorder::start() { asio::co_spawn(ex_, run(), asio::detached); }

task<void> presence_recorder::stop() {
  stopping_ = true;
  timer_.cancel();
  co_await flush();
}

task<void> presence_recorder::run() {
  while (!stopping_) {
    timer_.expires_after(interval_);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) co_return;
    const auto now = std::chrono::steady_clock::now();
    if (count_ && now - last_sample_ >= sample_every_) {
      last_sample_ = now;
      const auto n = count_();
      if (n > 0 || last_count_ > 0) {
        std::lock_guard lock(mu_);
        if (queue_.size() < max_queued_) queue_.push_back(sockets_event(node_, n, clock_.now()));
      }
      last_count_ = n;
    }
    co_await flush();
  }
}

task<void> presence_recorder::flush() {
  std::vector<domain::log_event> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  if (batch.empty()) co_return;
  try {
    co_await sink_.append(std::move(batch));
  } catch (const std::exception& e) {
    log::warn("presence events dropped", {{"error", e.what()}});
  }
}

}  // namespace sl::events
