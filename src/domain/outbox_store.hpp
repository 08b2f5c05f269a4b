#pragma once
// The outbox as a queue (for the relay) and as the in-database event log (for
// consumers), plus the bookkeeping of consumer groups. Part of every store.
//
// Order: `unpublished_outbox` returns rows oldest first, and never a row that
// a still-running transaction could precede: a write inserts its outbox row
// after taking the locks that order it (a channel's row for its messages, the
// message's row for its edits), so per key the row order is the order of the
// writes. `mark_published` gives rows consecutive log positions in the order
// given; positions are what database-log consumers read by.
//
// Threads and failures as for `store` (store.hpp).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/event_log.hpp"

namespace sl::domain {

struct outbox_row {
  std::int64_t id = 0;
  log_event event;
};

// What waits in the outbox (metrics: signalink_outbox_pending_events and
// signalink_outbox_oldest_pending_age_seconds).
struct outbox_backlog {
  std::int64_t events = 0;          // rows not yet published
  std::optional<timestamp> oldest;  // created_at of the oldest of them
};

class outbox_store {
 public:
  virtual ~outbox_store() = default;

  // The relay's lease: true when `holder` holds it now (taken if free or
  // expired, renewed if already its own) until `ttl` from now.
  virtual task<bool> hold_relay_lease(std::string holder, std::chrono::milliseconds ttl) = 0;
  // Gives the lease up (if `holder` has it) so another relay takes over at once.
  virtual task<void> release_relay_lease(std::string holder) = 0;
  // At most `limit` rows not yet published, oldest first (see above).
  virtual task<std::vector<outbox_row>> unpublished_outbox(std::size_t limit) = 0;
  // Counts the unpublished rows, up to a million (over the index of unpublished
  // rows: cheap while the relay keeps up, linear in the backlog when it does not).
  virtual task<outbox_backlog> pending_outbox() = 0;
  // Marks the rows published at `at` and gives them the next log positions,
  // in the order given.
  virtual task<void> mark_published(std::vector<std::int64_t> ids, timestamp at) = 0;
  // Rows inserted outside any write (dead letters, presence), as a write
  // inserts its own. A row whose (topic, event id) exists is skipped.
  virtual task<void> append_outbox(std::vector<log_event> events) = 0;
  // Deletes rows published before `before`; returns how many.
  virtual task<std::int64_t> prune_outbox(timestamp before) = 0;

  // The database log: published events of `topics` after `position`, by
  // position (log_event::offset carries it).
  virtual task<std::vector<log_event>> read_log(std::vector<std::string> topics, std::int64_t after,
                                                std::size_t limit) = 0;
  // Events of `topics` after `position`, counting those appended but not yet
  // published (a consumer group's lag).
  virtual task<std::int64_t> count_log(std::vector<std::string> topics, std::int64_t after) = 0;
  // A consumer group's committed position (0 before its first commit).
  virtual task<std::int64_t> group_position(std::string group) = 0;
  virtual task<void> commit_group_position(std::string group, std::int64_t position, timestamp at) = 0;

  // Consumer idempotence: which of `ids` the group already processed, and
  // remembering that it processed them (kept until prune_processed).
  virtual task<std::vector<event_id>> processed_among(std::string group, std::vector<event_id> ids) = 0;
  virtual task<void> record_processed(std::string group, std::vector<event_id> ids, timestamp at) = 0;
  virtual task<std::int64_t> prune_processed(timestamp before) = 0;
};

}  // namespace sl::domain
