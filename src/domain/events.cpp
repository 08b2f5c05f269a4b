#include "domain/events.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cctype>

#include "base/trace_context.hpp"

namespace sl::domain::events {
namespace {

boost::json::object envelope(const event_id& id, std::string_view type, timestamp at, const user_id& actor) {
  boost::json::object o;
  o["event_id"] = id.str();
  o["event_type"] = type;
  o["timestamp"] = format_iso(at);
  o["user_id"] = actor.str();
  return o;
}

record finish(event_id id, std::string topic, std::string key, std::string_view type, const boost::json::object& o,
              timestamp at) {
  return record{id, std::move(topic),     std::move(key), std::string(type), boost::json::serialize(o),
                at, current_traceparent()};
}

}  // namespace

std::vector<std::string> mentions(std::string_view content) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < content.size(); ++i) {
    if (content[i] != '@') continue;
    if (i > 0 && (std::isalnum(static_cast<unsigned char>(content[i - 1])) || content[i - 1] == '_')) continue;
    std::size_t j = i + 1;
    std::string name;
    while (j < content.size()) {
      const auto c = static_cast<unsigned char>(content[j]);
      if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.')) break;
      name.push_back(static_cast<char>(std::tolower(c)));
      ++j;
    }
    while (!name.empty() && (name.back() == '.' || name.back() == '-')) name.pop_back();
    if (!name.empty() && std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    i = j - 1;
  }
  return out;
}

bool is_broadcast_mention(std::string_view name) { return name == "channel" || name == "here"; }

record message_event(std::string_view type, const message& m, user_id actor, timestamp at) {
  const auto id = event_id::generate();
  auto o = envelope(id, type, at, actor);
  o["message_id"] = m.id.str();
  o["channel_id"] = m.channel.str();
  o["content"] = m.content;
  o["message_type"] = to_string(m.type);
  o["metadata"] = m.metadata;
  o["is_edited"] = m.is_edited;
  o["is_deleted"] = m.is_deleted;
  o["seq"] = m.seq;
  if (m.parent)
    o["parent_id"] = m.parent->str();
  else
    o["parent_id"] = nullptr;
  boost::json::array ms;
  for (auto& n : mentions(m.content)) ms.emplace_back(n);
  o["mentions"] = std::move(ms);
  boost::json::array ids;
  for (const auto& u : m.mentions) ids.emplace_back(u.str());
  o["mention_ids"] = std::move(ids);
  o["author_id"] = m.author ? boost::json::value(m.author->str()) : boost::json::value(nullptr);
  o["created_at"] = format_iso(m.created_at);
  return finish(id, messages_topic, m.channel.str(), type, o, at);
}

record channel_event(std::string_view type, const channel& c, user_id actor, timestamp at) {
  const auto id = event_id::generate();
  auto o = envelope(id, type, at, actor);
  o["channel_id"] = c.id.str();
  o["name"] = c.name;
  o["is_private"] = c.is_private;
  return finish(id, analytics_topic, actor.str(), type, o, at);
}

record member_event(std::string_view type, channel_id c, user_id member, std::string_view role, user_id actor,
                    timestamp at) {
  const auto id = event_id::generate();
  auto o = envelope(id, type, at, actor);
  o["channel_id"] = c.str();
  o["member_id"] = member.str();
  o["role"] = role;
  return finish(id, analytics_topic, member.str(), type, o, at);
}

record user_registered(const user& u, timestamp at) {
  const auto id = event_id::generate();
  auto o = envelope(id, "user.registered", at, u.id);
  o["username"] = u.username;
  return finish(id, analytics_topic, u.id.str(), "user.registered", o, at);
}

record notification_created(const notify::notification& n, timestamp at) {
  const auto id = event_id::generate();
  auto o = envelope(id, "notification.created", at, n.recipient);
  o["notification_id"] = n.id.str();
  o["type"] = notify::to_string(n.type);
  o["channel_id"] = n.channel.str();
  o["message_id"] = n.message.str();
  o["actor_id"] = n.actor ? boost::json::value(n.actor->str()) : boost::json::value(nullptr);
  o["count"] = n.count;
  return finish(id, notifications_topic, n.recipient.str(), "notification.created", o, at);
}

}  // namespace sl::domain::events
