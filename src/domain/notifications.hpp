#pragma once
// Notifications (docs/notifications.md): who hears about a message they are
// not looking at, and how. Plain values plus the pure rules the notifier
// applies to each message event; no I/O here.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "base/uuid.hpp"
#include "domain/model.hpp"

namespace sl::domain::notify {

// Why a user is notified, strongest first: one (event, recipient) gets one
// notification, of the strongest kind that applies.
enum class kind : std::uint8_t { direct, mention, reply, broadcast };
// "dm" | "mention" | "reply" | "channel" (the `type` of a notification).
std::string_view to_string(kind k);
std::optional<kind> parse_kind(std::string_view s);

// notification_preferences of contract.md section 7; `push` governs webhooks.
struct preferences {
  bool email = true;
  bool push = true;
  bool mention = true;  // mentions, @channel/@here and thread replies
  bool dm = true;
  timestamp created_at{};
  timestamp updated_at{};
};

struct preferences_update {
  std::optional<bool> email;
  std::optional<bool> push;
  std::optional<bool> mention;
  std::optional<bool> dm;
  timestamp now{};
};

struct notification {
  notification_id id;
  user_id recipient;
  kind type = kind::mention;
  channel_id channel;
  message_id message;  // the latest message folded into it
  std::optional<user_id> actor;
  std::string text;        // preview of the latest message
  std::int64_t count = 1;  // messages folded into it
  bool is_read = false;
  timestamp created_at{};
  timestamp updated_at{};
};

struct notification_page {
  std::vector<notification> items;  // newest first (by created_at, then id)
  std::int64_t unread_count = 0;    // over all of the user's notifications
};

// A member of a channel as the notifier sees them.
struct audience_member {
  user_id user;
  std::string username;
  std::string email;
  role member_role = role::member;
  bool muted = false;
  preferences prefs;
};

struct channel_info {
  channel_id id;
  std::string name;
  bool is_private = false;
  bool is_direct = false;  // a two-member conversation opened with POST /dms/
};

struct webhook {
  webhook_id id;
  user_id owner;
  std::string url;
  std::string secret;  // HMAC-SHA256 key of the deliveries; shown once, at creation
  timestamp created_at{};
};

// The stored form of what the notifier decided for one recipient of an event.
struct new_notification {
  notification_id id;  // used when a new notification is created
  user_id recipient;
  kind type = kind::mention;
  channel_id channel;
  message_id message;
  std::optional<user_id> actor;
  std::string text;
  // The external channels owed when this creates a new notification (the
  // recipient is offline): one delivery per webhook of theirs, one email.
  bool webhooks = false;
  bool email = false;
};

enum class record_outcome : std::uint8_t { created, folded, duplicate };

struct recorded {
  notification n;  // as stored after this event
  record_outcome outcome = record_outcome::created;
};

enum class delivery_channel : std::uint8_t { webhook, email };
std::string_view to_string(delivery_channel c);  // "webhook" | "email"

// One external delivery owed for a notification, as claimed by a notifier.
struct delivery {
  delivery_id id;
  delivery_channel channel = delivery_channel::webhook;
  std::string target;  // the webhook's URL or the recipient's email address
  std::string secret;  // the webhook's secret (empty for email)
  int attempts = 0;    // made before this one
  notification n;      // its current state (count and text as folded so far)
  std::string recipient_name;
  std::string actor_name;  // empty when the actor is gone
  std::string channel_name;
};

// What the notifier owes each candidate of a message.created event. Pure.
struct message_facts {
  channel_info channel;
  user_id author;
  role author_role = role::member;  // in the channel
  std::vector<user_id> mentions;    // resolved @username mentions
  bool mentions_channel = false;    // @channel
  bool mentions_here = false;       // @here
  std::vector<user_id> thread;      // parent's author and earlier repliers, when a reply
};

struct decision {
  user_id recipient;
  kind type = kind::mention;
};

// Who is notified and why, before presence: members other than the author,
// not muted, whose preference for the kind is on. @channel and @here count
// only from an owner or admin; @here only reaches `online` members (the
// caller passes who is online). Mentions and thread participants outside
// the channel are ignored. Ordered by recipient.
std::vector<decision> decide(const message_facts& f, const std::vector<audience_member>& members,
                             const std::vector<user_id>& online);

// The client's view of a notification (REST items, the notification.new
// frame, webhook bodies): id, type, channel_id, message_id, actor_id, text,
// count, is_read, created_at, updated_at.
boost::json::object to_json(const notification& n);
boost::json::object to_json(const preferences& p);

// The preview stored in a notification: the content's first `max_chars`
// characters (whole UTF-8 sequences), with an ellipsis when cut.
std::string preview(std::string_view content, std::size_t max_chars = 140);

}  // namespace sl::domain::notify
