#pragma once
// The `detail` texts of contract.md section 2.2, in one place: clients match on them.

namespace sl::domain::text {

inline constexpr const char* not_authenticated = "Not authenticated";
inline constexpr const char* bad_credentials = "Could not validate credentials";
inline constexpr const char* inactive_user = "User account is inactive";
inline constexpr const char* username_taken = "Username already registered";
inline constexpr const char* email_taken = "Email already registered";
inline constexpr const char* wrong_password = "Incorrect username or password";
inline constexpr const char* too_many_logins = "Too many failed login attempts, try again later";
inline constexpr const char* user_not_found = "User not found";
inline constexpr const char* channel_name_taken = "Channel name already exists";
inline constexpr const char* channel_not_found = "Channel not found";
inline constexpr const char* private_channel = "Access denied to private channel";
inline constexpr const char* access_denied = "Access denied";
inline constexpr const char* update_channel_denied = "Only channel owner or admin can update channel";
inline constexpr const char* delete_channel_denied = "Only channel owner can delete channel";
inline constexpr const char* add_member_denied = "Only channel owner or admin can add members";
inline constexpr const char* grant_admin_denied = "Only channel owner can grant admin role";
inline constexpr const char* already_member = "User is already a member of this channel";
inline constexpr const char* permission_denied = "Permission denied";
inline constexpr const char* not_a_member = "User is not a member of this channel";
inline constexpr const char* remove_owner = "Cannot remove channel owner";
inline constexpr const char* join_private = "Cannot join a private channel";
inline constexpr const char* send_denied = "You must be a member of the channel to send messages";
inline constexpr const char* message_not_found = "Message not found";
inline constexpr const char* parent_not_found = "Parent message not found in this channel";
inline constexpr const char* edit_denied = "You can only edit your own messages";
inline constexpr const char* delete_message_denied =
    "You can only delete your own messages or you must be a channel admin";
inline constexpr const char* rate_limited = "Rate limit exceeded";
inline constexpr const char* read_denied = "You must be a member of the channel";
inline constexpr const char* direct_to_self = "Cannot open a direct conversation with yourself";
inline constexpr const char* notification_not_found = "Notification not found";
inline constexpr const char* webhook_not_found = "Webhook not found";
inline constexpr const char* webhook_limit = "Webhook limit reached";

}  // namespace sl::domain::text
