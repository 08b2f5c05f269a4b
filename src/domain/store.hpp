#pragma once
// The storage port: everything the services persist, as asynchronous calls.
//
// Contract for every implementation (tests/store runs one suite against each):
// - Calls are awaited from coroutines on I/O threads and never block them.
// - Each write is one transaction and inserts its outbox event(s) (events.hpp)
//   in that same transaction: no event without its row, no row without its event.
// - Expected conflicts come back as result errors whose detail is the text of
//   texts.hpp; infrastructure failures (database unreachable...) throw.
// - Message inserts may be group-committed: the awaiting caller resumes only
//   after the transaction holding its row has committed.
// - Lists are in a stable order (documented per call).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/analytics_store.hpp"
#include "domain/model.hpp"
#include "domain/notification_store.hpp"
#include "domain/outbox_store.hpp"

namespace sl::domain {

struct page {
  std::int64_t skip = 0;
  std::int64_t limit = 50;
};

struct new_user {
  user_id id;
  std::string username;
  std::string email;
  std::string hashed_password;
  std::optional<std::string> full_name;
  timestamp now;
};

// Absent optionals leave a field unchanged; an engaged empty inner optional clears it.
struct profile_update {
  std::optional<std::optional<std::string>> full_name;
  std::optional<std::optional<std::string>> avatar_url;
  timestamp now;
};

struct new_channel {
  channel_id id;
  std::string name;
  std::optional<std::string> description;
  bool is_private = false;
  user_id creator;
  member_id owner_membership;
  timestamp now;
};

struct channel_update {
  std::optional<std::string> name;
  std::optional<std::optional<std::string>> description;
  std::optional<bool> is_private;
  user_id actor;
  timestamp now;
};

struct new_member {
  member_id id;
  channel_id channel;
  user_id user;
  role member_role = role::member;
  user_id actor;  // who added them (the user themself for a join)
  timestamp now;
};

struct new_message {
  message_id id;
  channel_id channel;
  user_id author;
  std::string content;
  message_type type = message_type::text;
  boost::json::value metadata;  // object or null
  std::optional<message_id> parent;
  std::optional<std::string> client_msg_id;
  std::vector<user_id> mentions;  // resolved `@username`s, stored with the row
  timestamp now;
};

// The message a store writes for `m` once it has its seq (no author profile).
message as_created(const new_message& m, std::int64_t seq);

struct created_message {
  message msg;
  bool duplicate = false;  // client_msg_id was seen before: msg is the original
};

// History: newest `limit` messages (after skipping the newest `skip`) returned
// ascending by seq; `before_seq` keeps seq < before_seq, `after_seq` keeps
// seq > after_seq and then returns the *oldest* `limit` of those. Deleted
// messages are never listed.
struct history_query {
  std::int64_t skip = 0;
  std::int64_t limit = 50;
  std::optional<std::int64_t> before_seq;
  std::optional<std::int64_t> after_seq;
};

struct revoked_session {
  std::string jti;
  timestamp revoked_at;
};

class store : public outbox_store {
 public:
  ~store() override = default;

  // True when the database answers a trivial query.
  virtual task<bool> ping() = 0;
  // The analytics tables of the same database; lives as long as the store.
  virtual analytics_store& analytics() = 0;
  // The notification tables of the same database; lives as long as the store.
  virtual notification_store& notifications() = 0;

  // Users. create_user also creates the user's notification_preferences row and
  // a `user.registered` event. Errors: username_taken, email_taken.
  virtual task<result<user>> create_user(new_user u) = 0;
  virtual task<std::optional<user>> find_user(user_id id) = 0;
  virtual task<std::optional<user>> find_user_by_username(std::string username) = 0;
  // Matches the username, or else the email, exactly (case-insensitive email).
  virtual task<std::optional<user_with_password>> find_login(std::string username_or_email) = 0;
  // Case-insensitive substring on username or email, `%` and `_` literal; ordered by username.
  virtual task<std::vector<user>> search_users(std::string query, page p) = 0;
  virtual task<std::optional<user>> update_profile(user_id id, profile_update u) = 0;
  virtual task<void> touch_last_seen(user_id id, timestamp at) = 0;

  // Sessions (one per issued token).
  virtual task<void> create_session(session s) = 0;
  // False when no such live session exists.
  virtual task<bool> revoke_session(std::string jti, timestamp at) = 0;
  // Sessions revoked at or after `since`, for the revocation caches of every node.
  virtual task<std::vector<revoked_session>> revoked_since(timestamp since) = 0;

  // Channels. `viewer` fills channel::unread_count and channel::viewer_role.
  // create_channel makes the creator its owner member. Error: channel_name_taken.
  virtual task<result<channel>> create_channel(new_channel c) = 0;
  virtual task<std::optional<channel>> find_channel(channel_id id, user_id viewer) = 0;
  // Public channels and private ones `viewer` belongs to, ordered by creation (id).
  virtual task<std::vector<channel>> list_channels(user_id viewer, page p) = 0;
  // Error: channel_name_taken; nullopt-like not_found when the channel is gone.
  virtual task<result<channel>> update_channel(channel_id id, channel_update u) = 0;
  virtual task<bool> delete_channel(channel_id id, user_id actor, timestamp at) = 0;

  // Members.
  virtual task<std::optional<role>> member_role(channel_id c, user_id u) = 0;
  // Error: already_member.
  virtual task<result<member>> add_member(new_member m) = 0;
  // Ordered by joined_at, then id.
  virtual task<std::vector<member>> list_members(channel_id c) = 0;
  virtual task<bool> remove_member(channel_id c, user_id u, user_id actor, timestamp at) = 0;
  // Moves last_read_seq forward only (clamped to the channel's last_seq).
  virtual task<void> mark_read(channel_id c, user_id u, std::int64_t seq) = 0;

  // Messages. create_message assigns the channel's next seq (gap-free from 1),
  // is idempotent on (author, client_msg_id) (a repeat returns the stored
  // message, duplicate=true) and bumps the parent's reply count. In the same
  // transaction it checks what makes the write valid, so a send costs one
  // round trip: errors channel_not_found (not_found), send_denied (forbidden:
  // the author is not a member) and parent_not_found (bad_request: the parent
  // is missing, deleted or in another channel).
  virtual task<result<created_message>> create_message(new_message m) = 0;
  // Deleted messages are returned too (callers decide); author_profile filled.
  virtual task<std::optional<message>> find_message(message_id id) = 0;
  virtual task<std::vector<message>> list_messages(channel_id c, history_query q) = 0;
  // Non-deleted replies of a thread root, ascending by seq.
  virtual task<std::vector<message>> list_replies(message_id root, page p) = 0;
  virtual task<std::optional<message>> edit_message(message_id id, std::string content, user_id actor,
                                                    timestamp at) = 0;
  // Soft delete; false when missing or already deleted.
  virtual task<bool> delete_message(message_id id, user_id actor, timestamp at) = 0;
};

}  // namespace sl::domain
