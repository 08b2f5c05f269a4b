#include "events/db_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/error.hpp"
#include "events/metrics.hpp"

namespace sl::events {
namespace {

namespace asio = boost::asio;

class db_stream final : public domain::event_stream {
 public:
  db_stream(domain::store& db, const clock& clk, db_log_settings s, std::string group, std::vector<std::string> topics,
            std::int64_t position)
      : db_(db),
        clock_(clk),
        s_(s),
        group_(std::move(group)),
        topics_(std::move(topics)),
        read_(position),
        committed_(position) {}

  task<std::vector<domain::log_event>> poll(std::size_t max, std::chrono::milliseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      auto events = co_await db_.read_log(topics_, read_, max);
      if (!events.empty()) {
        read_ = events.back().offset;
        for (const auto& e : events) metrics::events_consumed(e.topic).Increment();
        co_return events;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) co_return events;
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(s_.poll_interval, deadline - now));
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  task<void> commit(const std::vector<domain::log_event>& handled) override {
    if (handled.empty()) co_return;
    std::int64_t top = committed_;
    for (const auto& e : handled) top = std::max(top, e.offset);
    co_await db_.commit_group_position(group_, top, clock_.now());
    committed_ = top;
  }

  task<std::int64_t> lag() override { co_return co_await db_.count_log(topics_, committed_); }

  task<void> close() override { co_return; }

 private:
  domain::store& db_;
  const clock& clock_;
  db_log_settings s_;
  std::string group_;
  std::vector<std::string> topics_;
  std::int64_t read_;       // the last position returned by poll
  std::int64_t committed_;  // the group's committed position
};

}  // namespace

task<std::unique_ptr<domain::event_stream>> db_log::subscribe(std::string group, std::vector<std::string> topics) {
  const auto position = co_await db_.group_position(group);
  co_return std::make_unique<db_stream>(db_, clock_, s_, std::move(group), std::move(topics), position);
}

task<void> db_log::append(std::vector<domain::log_event> events) {
  if (stopped_) throw infrastructure_error("the database event log is stopped");
  co_await db_.append_outbox(std::move(events));
}

task<bool> db_log::check() {
  if (stopped_) co_return false;
  co_return co_await db_.ping();
}

task<void> db_log::stop() {
  stopped_ = true;
  co_return;
}

}  // namespace sl::events
