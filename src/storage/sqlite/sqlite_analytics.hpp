#pragma once
// The analytics storage port (domain/analytics_store.hpp) on the embedded
// SQLite database: the tables of migrations/sqlite/0003_analytics.sql.
//
// Writes (facts, window writes, pruning) are jobs of the executor's writer,
// group-committed with the store's other writes, each job atomic; queries run
// on the reader pool. Thread-safe like the executor. Owned by the sqlite store
// and borrowing its executor: destroyed before it. Infrastructure failures
// throw sqlite_error; record_facts throws std::invalid_argument for a window
// length that is not positive.

#include "domain/analytics_store.hpp"

namespace sl::storage::sqlite {

class executor;

class sqlite_analytics final : public domain::analytics_store {
 public:
  explicit sqlite_analytics(executor& exec) : exec_(exec) {}

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
  executor& exec_;
  // Whether the writer connection has sl_uuid_v7() (ids of the rows a window
  // write inserts); touched only by writer jobs, which run one at a time.
  bool writer_has_uuid_function_ = false;
};

}  // namespace sl::storage::sqlite
