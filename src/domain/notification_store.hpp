#pragma once
// The storage port of notifications (docs/notifications.md): preferences,
// per-channel mute, direct conversations, webhooks, in-app notifications and
// the queue of external deliveries.
//
// Exactly once per (event, recipient): record_notifications() stores a
// receipt keyed by both with its effect in one transaction, so an event
// delivered again changes nothing. Coalescing: a recipient's unread
// notification for the same channel created within the window absorbs the
// next one (count + 1, latest message and text), and owes no new delivery.
//
// Deliveries are rows due at a time: a notifier claims due rows with a lease
// (so two notifier processes never send one twice while both live), then
// reports each as sent, to retry at a later time, or failed for good.
//
// Threads and failures as for `store` (store.hpp): awaited from I/O threads,
// expected conflicts as result errors, infrastructure failures throw.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/events.hpp"
#include "domain/notifications.hpp"

namespace sl::domain {

struct new_direct {
  channel_id id;     // used when the conversation is new
  std::string name;  // unique channel name for the pair (see channel_service)
  user_id a;         // the caller
  user_id b;         // the other user (exists; checked by the caller)
  member_id a_membership;
  member_id b_membership;
  timestamp now{};
};

class notification_store {
 public:
  virtual ~notification_store() = default;

  // Active users with these usernames (case-insensitive), in no set order.
  virtual task<std::vector<user>> users_named(std::vector<std::string> usernames) = 0;

  // The row created with the user (defaults when it is missing); nullopt
  // when the user does not exist.
  virtual task<std::optional<notify::preferences>> preferences_of(user_id u) = 0;
  virtual task<std::optional<notify::preferences>> update_preferences(user_id u, notify::preferences_update p) = 0;
  // Sets the member's mute of the channel; false when `u` is not a member.
  virtual task<bool> set_muted(channel_id c, user_id u, bool muted) = 0;
  virtual task<std::optional<bool>> muted(channel_id c, user_id u) = 0;

  // The direct conversation of the pair (in either order): found, or created
  // as a private channel with both as `member`s (channel.created and two
  // member.added events in the same transaction). Returns the channel as `a`
  // sees it.
  virtual task<channel> open_direct(new_direct d) = 0;
  // Name and kind of a channel; nullopt when it is gone.
  virtual task<std::optional<notify::channel_info>> channel_info(channel_id c) = 0;
  // Members of `c` with role, mute, preferences and email; only those in
  // `only` when given. Ordered by user id.
  virtual task<std::vector<notify::audience_member>> audience(channel_id c,
                                                              std::optional<std::vector<user_id>> only) = 0;
  // The root's author and the authors of its replies (deleted ones too),
  // excluding none; distinct, in no set order.
  virtual task<std::vector<user_id>> thread_participants(message_id root) = 0;

  // Webhooks of a user (any number; the caller limits them).
  virtual task<notify::webhook> create_webhook(notify::webhook w) = 0;
  // Oldest first.
  virtual task<std::vector<notify::webhook>> list_webhooks(user_id owner) = 0;
  virtual task<std::int64_t> count_webhooks(user_id owner) = 0;
  // False when it does not exist or is not the owner's.
  virtual task<bool> delete_webhook(user_id owner, webhook_id id) = 0;

  // For each decision, in one transaction: nothing when the receipt
  // (source, recipient) exists (outcome duplicate, `n` the notification it
  // produced then); else folds into the recipient's unread notification of
  // the same channel created at or after now - coalesce_window (folded), or
  // inserts a new one (created) with its deliveries due at now + delay and a
  // `notification.created` event on signalink.notifications (key: recipient).
  // Results in the order of `ns`.
  virtual task<std::vector<notify::recorded>> record_notifications(event_id source,
                                                                   std::vector<notify::new_notification> ns,
                                                                   std::chrono::milliseconds coalesce_window,
                                                                   std::chrono::milliseconds delivery_delay,
                                                                   timestamp now) = 0;

  // Newest first, with the count of unread ones.
  virtual task<notify::notification_page> list_notifications(user_id u, std::int64_t skip, std::int64_t limit) = 0;
  // nullopt when it does not exist or is not the user's.
  virtual task<std::optional<notify::notification>> mark_notification_read(user_id u, notification_id id,
                                                                           timestamp now) = 0;
  // Returns how many were unread.
  virtual task<std::int64_t> mark_all_notifications_read(user_id u, timestamp now) = 0;

  // Up to `limit` pending deliveries due at or before `now` whose lease is
  // free or expired, oldest due first; each is leased until `lease_until`.
  virtual task<std::vector<notify::delivery>> claim_deliveries(timestamp now, timestamp lease_until,
                                                               std::size_t limit) = 0;
  // The delivery succeeded (attempts + 1; no longer pending).
  virtual task<void> delivery_sent(delivery_id id, timestamp now) = 0;
  // It failed and is due again at `next` (attempts + 1, lease released).
  virtual task<void> delivery_retry(delivery_id id, timestamp next, std::string error) = 0;
  // It failed for good (attempts + 1; no longer pending).
  virtual task<void> delivery_failed(delivery_id id, std::string error, timestamp now) = 0;
  // Pending deliveries (for /metrics and tests).
  virtual task<std::int64_t> pending_deliveries() = 0;
};

}  // namespace sl::domain
