#pragma once
// What analytics counts (contract.md section 5): each message or presence
// event reduced to a fact, and the metrics rows computed from the facts of one
// window. Windows are aligned to the epoch and keyed by the event's own time.
// Plain values and pure functions; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/time.hpp"
#include "base/uuid.hpp"
#include "domain/event_log.hpp"
#include "domain/model.hpp"

namespace sl::domain::analytics {

// A window: [start, start + seconds).
struct window {
  timestamp start;
  int seconds = 60;
  friend bool operator==(const window&, const window&) = default;
};
// The window holding `at` (aligned to the epoch; `seconds` > 0).
window window_of(timestamp at, int seconds);

enum class message_action { created, edited, deleted };
std::string_view to_string(message_action a);

// One message.created | edited | deleted event.
struct message_fact {
  event_id id;
  timestamp at;  // the envelope's `timestamp`
  message_action action = message_action::created;
  message_id message;
  channel_id channel;
  std::optional<user_id> user;  // the actor: creator, editor or deleter
  message_type type = message_type::text;
};

enum class presence_action { online, offline, sockets };
std::string_view to_string(presence_action a);

// presence.online | presence.offline (a user's first socket opened or last
// one closed, across nodes), or presence.sockets: a gateway node's count of
// open sockets, sampled.
struct presence_fact {
  event_id id;
  timestamp at;
  presence_action action = presence_action::online;
  std::optional<user_id> user;  // online/offline
  std::string node;             // sockets: the gateway node
  std::int64_t sockets = 0;     // sockets: open on that node
};

using fact = std::variant<message_fact, presence_fact>;

// The fact an event stands for: nullopt for events analytics does not count
// (channel.*, member.*...); throws std::invalid_argument for a message or
// presence event whose payload lacks what counting needs (a poison event).
std::optional<fact> fact_of(const log_event& e);

// Rows of contract.md section 5, columns in order.
struct message_metrics {
  uuid id;
  timestamp time_window;
  int window_duration_seconds = 60;
  std::int64_t message_count = 0;  // created in the window
  double messages_per_second = 0;
  std::int64_t active_users_count = 0;    // distinct actors of any message event
  std::int64_t unique_senders_count = 0;  // distinct creators
  std::int64_t active_channels_count = 0;
  std::int64_t text_messages_count = 0;
  std::int64_t image_messages_count = 0;
  std::int64_t file_messages_count = 0;
  std::int64_t system_messages_count = 0;
  timestamp created_at;
};

struct channel_metrics {
  uuid id;
  channel_id channel;
  timestamp time_window;
  int window_duration_seconds = 60;
  std::int64_t message_count = 0;  // == created_count
  std::int64_t unique_senders_count = 0;
  double messages_per_second = 0;
  std::int64_t created_count = 0;
  std::int64_t edited_count = 0;
  std::int64_t deleted_count = 0;
  timestamp created_at;
};

struct user_metrics {
  uuid id;
  user_id user;
  timestamp time_window;
  int window_duration_seconds = 60;
  std::int64_t messages_sent = 0;
  std::int64_t messages_edited = 0;
  std::int64_t messages_deleted = 0;
  std::int64_t channels_active = 0;  // distinct channels the user created messages in
  timestamp created_at;
};

// (new) Presence of one window.
struct presence_metrics {
  uuid id;
  timestamp time_window;
  int window_duration_seconds = 60;
  std::int64_t users_online = 0;        // online at any moment of the window
  std::int64_t users_connected = 0;     // distinct users whose first socket opened in it
  std::int64_t users_disconnected = 0;  // distinct users whose last socket closed in it
  std::int64_t sockets_peak = 0;        // sum over nodes of each node's largest sample
  timestamp created_at;
};

// Sums over a period, for the top lists.
struct channel_total {
  channel_id channel;
  std::int64_t message_count = 0;
  std::int64_t edited_count = 0;
  std::int64_t deleted_count = 0;
  std::int64_t unique_senders_count = 0;  // distinct over the whole period
  std::int64_t windows = 0;               // windows with any event of the channel
  std::optional<std::string> name;        // the channel's name now; none once it is deleted
};

struct user_total {
  user_id user;
  std::int64_t messages_sent = 0;
  std::int64_t messages_edited = 0;
  std::int64_t messages_deleted = 0;
  std::int64_t channels_active = 0;  // distinct over the whole period
  std::int64_t windows = 0;
  std::optional<std::string> username;  // none once the user is deleted
};

// Over the written windows of a period.
struct system_totals {
  std::int64_t messages = 0;                      // created
  std::int64_t active_users = 0;                  // distinct actors of message events
  std::int64_t active_channels = 0;               // distinct channels with message events
  std::optional<channel_id> most_active_channel;  // most created; ties: smallest id
  std::optional<user_id> most_active_user;        // most sent; ties: smallest id
};

}  // namespace sl::domain::analytics
