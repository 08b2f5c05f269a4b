#include "transport/http/shapes.hpp"

namespace sl::http::shapes {
namespace {

template <typename T>
boost::json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return boost::json::value(*v);
}

boost::json::value opt_time(const std::optional<timestamp>& t) {
  if (!t) return nullptr;
  return boost::json::value(format_iso(*t));
}

template <typename Tag>
boost::json::value opt_id(const std::optional<id<Tag>>& v) {
  if (!v) return nullptr;
  return boost::json::value(v->str());
}

}  // namespace

boost::json::object user(const domain::user& u) {
  boost::json::object o;
  o["username"] = u.username;
  o["email"] = u.email;
  o["full_name"] = opt(u.full_name);
  o["id"] = u.id.str();
  o["avatar_url"] = opt(u.avatar_url);
  o["is_active"] = u.is_active;
  o["is_verified"] = u.is_verified;
  o["created_at"] = format_iso(u.created_at);
  o["last_seen_at"] = opt_time(u.last_seen_at);
  return o;
}

boost::json::object channel(const domain::channel& c) {
  boost::json::object o;
  o["name"] = c.name;
  o["description"] = opt(c.description);
  o["is_private"] = c.is_private;
  o["id"] = c.id.str();
  o["created_by"] = opt_id(c.created_by);
  o["created_at"] = format_iso(c.created_at);
  o["updated_at"] = format_iso(c.updated_at);
  o["member_count"] = c.member_count;
  o["message_count"] = c.message_count;
  o["last_seq"] = c.last_seq;
  o["unread_count"] = c.unread_count;
  if (c.viewer_role)
    o["viewer_role"] = domain::to_string(*c.viewer_role);
  else
    o["viewer_role"] = nullptr;
  return o;
}

boost::json::object member(const domain::member& m) {
  boost::json::object o;
  o["channel_id"] = m.channel.str();
  o["user_id"] = m.user.str();
  o["id"] = m.id.str();
  o["role"] = domain::to_string(m.member_role);
  o["joined_at"] = format_iso(m.joined_at);
  o["user"] = user(m.profile);
  return o;
}

boost::json::object message(const domain::message& m) {
  boost::json::object o;
  o["content"] = m.content;
  o["message_type"] = domain::to_string(m.type);
  o["id"] = m.id.str();
  o["channel_id"] = m.channel.str();
  o["user_id"] = opt_id(m.author);
  o["metadata"] = m.metadata;
  o["is_edited"] = m.is_edited;
  o["is_deleted"] = m.is_deleted;
  o["created_at"] = format_iso(m.created_at);
  o["updated_at"] = format_iso(m.updated_at);
  if (m.author_profile)
    o["user"] = user(*m.author_profile);
  else
    o["user"] = nullptr;
  o["seq"] = m.seq;
  o["parent_id"] = opt_id(m.parent);
  o["client_msg_id"] = opt(m.client_msg_id);
  o["reply_count"] = m.reply_count;
  return o;
}

}  // namespace sl::http::shapes
