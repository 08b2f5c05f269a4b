#pragma once
// The storage port of analytics (contract.md section 5; docs/analytics.md).
//
// Counting exactly once: facts are stored keyed by their event id, so an
// event delivered again adds nothing, and the facts of a batch (with the
// database log's consumer position, when given) commit in one transaction.
// Metrics rows are never incremented: a window's rows are computed afresh
// from its facts when it is written, so writing a window again (a straggler
// arrived, two writers raced, a crash mid-way) gives the same rows.
//
// A window is pending from its first fact until written, and pending again
// when a fact arrives for it after that. Period queries (`since`) cover the
// windows that start at or after `since`; distinct counts over a period come
// from the facts, not from summing windows.
//
// Threads and failures as for `store` (store.hpp): awaited from I/O threads,
// infrastructure failures throw.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "domain/analytics.hpp"

namespace sl::domain {

// A database-log consumer group's position, committed with the facts.
struct group_position {
  std::string group;
  std::int64_t position = 0;
};

class analytics_store {
 public:
  virtual ~analytics_store() = default;

  // Stores the facts not stored before (by event id) in windows of
  // `window_seconds`, marks their windows pending, and commits `position` if
  // given, all in one transaction. Returns how many facts were new.
  virtual task<std::int64_t> record_facts(std::vector<analytics::fact> facts, int window_seconds,
                                          std::optional<group_position> position) = 0;
  // Pending windows that ended at or before `ended_by`, oldest first.
  virtual task<std::vector<analytics::window>> pending_windows(timestamp ended_by, std::size_t limit) = 0;
  // Replaces the window's rows in every metrics table with rows computed from
  // its facts (message metrics only when it has message facts, presence
  // metrics only when it has presence facts; a channel or user row for each
  // one with events), stamped `now`, and marks it written; one transaction.
  virtual task<void> write_window(analytics::window w, timestamp now) = 0;
  // Deletes facts, windows and rows of windows that started before `before`,
  // except, for each user, the latest of those online/offline facts: the
  // presence that later windows carry over; returns the rows deleted.
  virtual task<std::int64_t> prune_analytics(timestamp before) = 0;

  // Rows of written windows with time_window >= since, newest first.
  virtual task<std::vector<analytics::message_metrics>> message_metrics(timestamp since, std::int64_t limit) = 0;
  virtual task<std::vector<analytics::channel_metrics>> channel_metrics(channel_id c, timestamp since) = 0;
  virtual task<std::vector<analytics::user_metrics>> user_metrics(user_id u, timestamp since) = 0;
  virtual task<std::vector<analytics::presence_metrics>> presence_metrics(timestamp since, std::int64_t limit) = 0;
  // Every channel (user) with a message fact in the period, ranked by the sum
  // of message_count (messages_sent) descending, then by id ascending, with
  // its name now (none once deleted).
  virtual task<std::vector<analytics::channel_total>> top_channels(timestamp since, std::int64_t limit) = 0;
  virtual task<std::vector<analytics::user_total>> top_users(timestamp since, std::int64_t limit) = 0;
  virtual task<analytics::system_totals> system_totals(timestamp since) = 0;
  // Users whose latest online/offline fact is `online`.
  virtual task<std::int64_t> users_online_now() = 0;
};

}  // namespace sl::domain
