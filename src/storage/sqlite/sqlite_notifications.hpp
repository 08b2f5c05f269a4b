#pragma once
// The notification storage port (domain/notification_store.hpp) on the
// embedded SQLite database: the tables of migrations/sqlite/0004_notifications.sql.
//
// Writes are jobs of the executor's writer, group-committed with the store's
// other writes, each job atomic; with one writer, a lookup before an insert
// (a direct conversation, a receipt, a coalescing candidate, a claim) cannot
// race another. Queries run on the reader pool. Thread-safe like the
// executor. Owned by the sqlite store and borrowing its executor: destroyed
// before it. Infrastructure failures throw sqlite_error.

#include "domain/notification_store.hpp"

namespace sl::storage::sqlite {

class executor;

class sqlite_notifications final : public domain::notification_store {
 public:
  explicit sqlite_notifications(executor& exec) : exec_(exec) {}

  task<std::vector<domain::user>> users_named(std::vector<std::string> usernames) override;

  task<std::optional<domain::notify::preferences>> preferences_of(user_id u) override;
  task<std::optional<domain::notify::preferences>> update_preferences(user_id u,
                                                                      domain::notify::preferences_update p) override;
  task<bool> set_muted(channel_id c, user_id u, bool muted) override;
  task<std::optional<bool>> muted(channel_id c, user_id u) override;

  task<domain::channel> open_direct(domain::new_direct d) override;
  task<std::optional<domain::notify::channel_info>> channel_info(channel_id c) override;
  task<std::vector<domain::notify::audience_member>> audience(channel_id c,
                                                              std::optional<std::vector<user_id>> only) override;
  task<std::vector<user_id>> thread_participants(message_id root) override;

  task<domain::notify::webhook> create_webhook(domain::notify::webhook w) override;
  task<std::vector<domain::notify::webhook>> list_webhooks(user_id owner) override;
  task<std::int64_t> count_webhooks(user_id owner) override;
  task<bool> delete_webhook(user_id owner, webhook_id id) override;

  task<std::vector<domain::notify::recorded>> record_notifications(event_id source,
                                                                   std::vector<domain::notify::new_notification> ns,
                                                                   std::chrono::milliseconds coalesce_window,
                                                                   std::chrono::milliseconds delivery_delay,
                                                                   timestamp now) override;

  task<domain::notify::notification_page> list_notifications(user_id u, std::int64_t skip, std::int64_t limit) override;
  task<std::optional<domain::notify::notification>> mark_notification_read(user_id u, notification_id id,
                                                                           timestamp now) override;
  task<std::int64_t> mark_all_notifications_read(user_id u, timestamp now) override;

  task<std::vector<domain::notify::delivery>> claim_deliveries(timestamp now, timestamp lease_until,
                                                               std::size_t limit) override;
  task<void> delivery_sent(delivery_id id, timestamp now) override;
  task<void> delivery_retry(delivery_id id, timestamp next, std::string error) override;
  task<void> delivery_failed(delivery_id id, std::string error, timestamp now) override;
  task<std::int64_t> pending_deliveries() override;

 private:
  executor& exec_;
};

}  // namespace sl::storage::sqlite
