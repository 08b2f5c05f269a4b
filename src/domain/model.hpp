#pragma once
// Entities as clients see them (contract.md sections 2.1 and 7). Plain values:
// copyable, no behaviour beyond trivial helpers.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "base/uuid.hpp"

namespace sl::domain {

struct user {
  user_id id;
  std::string username;
  std::string email;
  std::optional<std::string> full_name;
  std::optional<std::string> avatar_url;
  bool is_active = true;
  bool is_verified = false;
  timestamp created_at;
  timestamp updated_at;
  std::optional<timestamp> last_seen_at;
};

struct user_with_password {
  user u;
  std::string hashed_password;
};

enum class role { owner, admin, member };
std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view s);

struct channel {
  channel_id id;
  std::string name;
  std::optional<std::string> description;
  bool is_private = false;
  std::optional<user_id> created_by;
  timestamp created_at;
  timestamp updated_at;
  std::int64_t member_count = 0;
  std::int64_t message_count = 0;
  std::int64_t last_seq = 0;
  std::int64_t unread_count = 0;    // for the viewer; 0 when not a member
  std::optional<role> viewer_role;  // the viewer's membership, if any
};

struct member {
  member_id id;
  channel_id channel;
  user_id user;
  role member_role = role::member;
  timestamp joined_at;
  std::int64_t last_read_seq = 0;
  domain::user profile;
};

enum class message_type { text, image, file, system };
std::string_view to_string(message_type t);
std::optional<message_type> parse_message_type(std::string_view s);

struct message {
  message_id id;
  channel_id channel;
  std::optional<user_id> author;
  std::string content;
  message_type type = message_type::text;
  boost::json::value metadata;  // an object or null
  bool is_edited = false;
  bool is_deleted = false;
  timestamp created_at;
  timestamp updated_at;
  std::int64_t seq = 0;
  std::optional<message_id> parent;
  std::optional<std::string> client_msg_id;
  std::int64_t reply_count = 0;
  std::optional<user> author_profile;
  // Users named by `@username` in the content, resolved when it was created
  // (stored with the row; filled on the created message, empty when read back).
  std::vector<user_id> mentions;
};

struct session {
  std::string jti;
  user_id user;
  timestamp expires_at;
  timestamp created_at;
  std::string user_agent;
  std::string ip_address;
};

// Who is calling, once their token is verified.
struct principal {
  user_id id;
  std::string username;
  std::string jti;
  timestamp expires_at{};  // of the token (long-lived sockets close then)
};

}  // namespace sl::domain
