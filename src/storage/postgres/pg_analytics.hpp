#pragma once
// The analytics storage port (domain/analytics_store.hpp) on PostgreSQL: the
// tables of migrations/postgres/0003_analytics.sql, over the store's pool.
//
// record_facts sends a batch as one array per column in one statement and
// commits it with the group position in one round trip; write_window is one
// transaction in one round trip that first marks the window written (locking
// its row, so a fact recorded meanwhile makes it pending again after the
// commit) and then recomputes its rows set-wise. Thread-safe: each call runs on
// its own pooled connection. Owned by the pg store; the pool outlives it.
// Infrastructure failures throw pg_error; record_facts throws
// std::invalid_argument for a window length that is not positive.

#include <chrono>
#include <memory>

#include "domain/analytics_store.hpp"

namespace sl::storage::postgres {

class pg_pool;

class pg_analytics final : public domain::analytics_store {
 public:
  pg_analytics(std::shared_ptr<pg_pool> pool, std::chrono::steady_clock::duration timeout)
      : pool_(std::move(pool)), timeout_(timeout) {}

  task<std::int64_t> record_facts(std::vector<domain::analytics::fact> facts, int window_seconds,
                                  std::optional<domain::group_position> position) override;
  task<std::vector<domain::analytics::window>> pending_windows(timestamp ended_by, std::size_t limit) override;
  task<void> write_window(domain::analytics::window w, timestamp now) override;
  task<std::int64_t> prune_analytics(timestamp before) override;

  task<std::vector<domain::analytics::message_metrics>> message_metrics(timestamp since, std::int64_t limit) override;
  task<std::vector<domain::analytics::channel_metrics>> channel_metrics(channel_id c, timestamp since) override;
  task<std::vector<domain::analytics::user_metrics>> user_metrics(user_id u, timestamp since) override;
  task<std::vector<domain::analytics::presence_metrics>> presence_metrics(timestamp since, std::int64_t limit) override;
  task<std::vector<domain::analytics::channel_total>> top_channels(timestamp since, std::int64_t limit) override;
  task<std::vector<domain::analytics::user_total>> top_users(timestamp since, std::int64_t limit) override;
  task<domain::analytics::system_totals> system_totals(timestamp since) override;
  task<std::int64_t> users_online_now() override;

 private:
  std::shared_ptr<pg_pool> pool_;
  std::chrono::steady_clock::duration timeout_;
};

}  // namespace sl::storage::postgres
