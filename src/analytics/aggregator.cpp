#include "analytics/aggregator.hpp"

#include <stdexcept>

#include "analytics/metrics.hpp"
#include "base/log.hpp"

namespace sl::analytics {

aggregator_settings default_aggregator_settings() {
  aggregator_settings s;
  s.consumer.group = consumer_group;
  s.consumer.topics = {"signalink.messages", "signalink.presence"};
  s.consumer.batch = 500;
  return s;
}

aggregator::aggregator(const boost::asio::any_io_executor& ex, domain::event_log& log, domain::outbox_store& offsets,
                       domain::analytics_store& db, const clock& clk, aggregator_settings s)
    : log_(log),
      db_(db),
      clock_(clk),
      s_(std::move(s)),
      consumer_(ex, log, offsets, clk, s_.consumer,
                [this](const std::vector<domain::log_event>& batch) { return record(batch); }),
      writer_(ex) {}

void aggregator::start() {
  // Every series exists from the start, at 0, so that rates and alerts work.
  metrics::register_metrics();
  consumer_.start();
  writer_.start([this] { return run_writer(); }, "analytics window writer");
}

task<void> aggregator::stop() {
  co_await consumer_.stop();
  co_await writer_.stop();
}

task<std::vector<events::rejected_event>> aggregator::record(const std::vector<domain::log_event>& batch) {
  std::vector<domain::analytics::fact> facts;
  std::vector<events::rejected_event> refused;
  facts.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    try {
      if (auto f = domain::analytics::fact_of(batch[i])) facts.push_back(std::move(*f));
    } catch (const std::invalid_argument& e) {
      refused.push_back({i, e.what()});
    }
  }
  // On the database log the group's position commits with the facts; Kafka
  // keeps its own offsets, and the facts' event ids make a replay harmless.
  std::optional<domain::group_position> position;
  if (log_.name() == "database" && !batch.empty())
    position = domain::group_position{s_.consumer.group, batch.back().offset};
  const auto offered = static_cast<std::int64_t>(facts.size());
  const auto fresh = co_await db_.record_facts(std::move(facts), s_.window_seconds, position);
  metrics::facts("new").Increment(static_cast<double>(fresh));
  metrics::facts("duplicate").Increment(static_cast<double>(offered - fresh));
  co_return refused;
}

task<std::size_t> aggregator::write_due_windows() {
  const auto now = clock_.now();
  const auto due = co_await db_.pending_windows(now - s_.grace, 1000);
  for (const auto& w : due) {
    co_await db_.write_window(w, clock_.now());
    metrics::windows_written().Increment();
    log::debug("analytics window written",
               {{"window", format_iso(w.start)}, {"seconds", static_cast<std::int64_t>(w.seconds)}});
  }
  co_return due.size();
}

task<void> aggregator::run_writer() {
  while (!writer_.stopping()) {
    try {
      co_await write_due_windows();
      const auto now = clock_.now();
      if (now - last_prune_ >= s_.prune_every) {
        last_prune_ = now;
        const auto gone = co_await db_.prune_analytics(now - s_.retention);
        if (gone > 0) log::info("analytics rows pruned", {{"rows", gone}});
      }
    } catch (const std::exception& e) {
      metrics::write_errors().Increment();
      log::warn("analytics windows not written, will retry", {{"error", e.what()}});
    }
    co_await writer_.sleep(s_.write_every);
  }
}

}  // namespace sl::analytics
