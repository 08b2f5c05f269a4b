#pragma once
// Outbox events (contract.md section 4), built here so that every store writes
// the same payloads. A store inserts the returned record in the transaction of
// the write it describes. Each record carries the current span
// (current_traceparent(), base/trace_context.hpp) of the coroutine that built
// it.

#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "domain/model.hpp"
#include "domain/notifications.hpp"

namespace sl::domain::events {

struct record {
  event_id id;
  std::string topic;       // signalink.messages | notifications | analytics | presence
  std::string key;         // channel id for messages, user id otherwise
  std::string event_type;  // message.created, channel.updated...
  std::string payload;     // the JSON envelope
  timestamp created_at;
  // The span of the write (W3C traceparent), "" when it ran outside any trace.
  std::string traceparent;
};

inline constexpr const char* messages_topic = "signalink.messages";
inline constexpr const char* analytics_topic = "signalink.analytics";

// `@name` tokens of a message, lowercase, unique, in order of appearance.
std::vector<std::string> mentions(std::string_view content);
// `@channel` (every member) and `@here` (members online) rather than a user.
bool is_broadcast_mention(std::string_view name);
inline constexpr const char* notifications_topic = "signalink.notifications";

// message.created | message.edited | message.deleted; `actor` is the deleter for deletes.
record message_event(std::string_view type, const message& m, user_id actor, timestamp at);
record channel_event(std::string_view type, const channel& c, user_id actor, timestamp at);
record member_event(std::string_view type, channel_id c, user_id member, std::string_view role, user_id actor,
                    timestamp at);
record user_registered(const user& u, timestamp at);
// notification.created on signalink.notifications, keyed and `user_id` by the recipient.
record notification_created(const notify::notification& n, timestamp at);

}  // namespace sl::domain::events
