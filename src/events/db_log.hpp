#pragma once
// The in-database event log (the embedded default): the outbox itself, read
// by position. The relay gives published rows consecutive positions; a
// stream reads a group's topics after the position the group committed
// (consumer_offsets), polling the store while there is nothing new.
//
// Threads: the log is thread-safe; a stream belongs to one coroutine.

#include <atomic>
#include <chrono>

#include "domain/event_log.hpp"
#include "domain/store.hpp"

namespace sl::events {

struct db_log_settings {
  std::chrono::milliseconds poll_interval{20};  // a stream's wait between empty reads
};

class db_log final : public domain::event_log, public domain::event_sink {
 public:
  db_log(domain::store& db, const clock& clk, db_log_settings s = {}) : db_(db), clock_(clk), s_(s) {}

  std::string_view name() const noexcept override { return "database"; }
  task<void> ensure_topics(std::vector<std::string>) override { co_return; }
  domain::event_sink& sink() override { return *this; }
  task<std::unique_ptr<domain::event_stream>> subscribe(std::string group, std::vector<std::string> topics) override;
  task<bool> check() override;
  // Afterwards appends throw and check() is false (the store stays open).
  task<void> stop() override;

  // Inserted like a write's own events; the relay publishes them.
  task<void> append(std::vector<domain::log_event> events) override;

 private:
  domain::store& db_;
  const clock& clock_;
  db_log_settings s_;
  std::atomic<bool> stopped_{false};
};

}  // namespace sl::events
