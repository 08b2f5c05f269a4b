#include "domain/analytics.hpp"

#include <boost/json/parse.hpp>
#include <stdexcept>

namespace sl::domain::analytics {
namespace {

const boost::json::value* member(const boost::json::object& o, std::string_view name) { return o.if_contains(name); }

std::string text(const boost::json::object& o, std::string_view name) {
  const auto* v = member(o, name);
  if (!v || !v->is_string()) throw std::invalid_argument("the event has no string field " + std::string(name));
  return std::string(v->as_string());
}

template <typename Id>
Id required_id(const boost::json::object& o, std::string_view name) {
  auto id = Id::parse(text(o, name));
  if (!id) throw std::invalid_argument("field " + std::string(name) + " is not a UUID");
  return *id;
}

// A user id that may be null (a deleted author) or absent.
template <typename Id>
std::optional<Id> optional_id(const boost::json::object& o, std::string_view name) {
  const auto* v = member(o, name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) throw std::invalid_argument("field " + std::string(name) + " is not a string");
  auto id = Id::parse(v->as_string());
  if (!id) throw std::invalid_argument("field " + std::string(name) + " is not a UUID");
  return id;
}

timestamp event_time(const boost::json::object& o) {
  auto at = parse_iso(text(o, "timestamp"));
  if (!at) throw std::invalid_argument("field timestamp is not an ISO-8601 time");
  return *at;
}

message_fact message_fact_of(const boost::json::object& o, message_action action) {
  message_fact f;
  f.id = required_id<event_id>(o, "event_id");
  f.at = event_time(o);
  f.action = action;
  f.message = required_id<message_id>(o, "message_id");
  f.channel = required_id<channel_id>(o, "channel_id");
  f.user = optional_id<user_id>(o, "user_id");
  const auto* type = member(o, "message_type");
  if (type && type->is_string()) {
    auto t = parse_message_type(type->as_string());
    if (!t) throw std::invalid_argument("unknown message_type");
    f.type = *t;
  }
  return f;
}

presence_fact presence_fact_of(const boost::json::object& o, presence_action action) {
  presence_fact f;
  f.id = required_id<event_id>(o, "event_id");
  f.at = event_time(o);
  f.action = action;
  if (action == presence_action::sockets) {
    f.node = text(o, "node_id");
    const auto* n = member(o, "sockets");
    if (!n || !n->is_int64() || n->as_int64() < 0)
      throw std::invalid_argument("field sockets is not a non-negative integer");
    f.sockets = n->as_int64();
  } else {
    f.user = required_id<user_id>(o, "user_id");
  }
  return f;
}

}  // namespace

window window_of(timestamp at, int seconds) {
  const auto s = std::chrono::floor<std::chrono::seconds>(at.time_since_epoch()).count();
  const auto start = s - (((s % seconds) + seconds) % seconds);
  return window{timestamp(std::chrono::seconds(start)), seconds};
}

std::string_view to_string(message_action a) {
  switch (a) {
    case message_action::created:
      return "created";
    case message_action::edited:
      return "edited";
    case message_action::deleted:
      return "deleted";
  }
  return "created";
}

std::string_view to_string(presence_action a) {
  switch (a) {
    case presence_action::online:
      return "online";
    case presence_action::offline:
      return "offline";
    case presence_action::sockets:
      return "sockets";
  }
  return "online";
}

std::optional<fact> fact_of(const log_event& e) {
  static const std::pair<std::string_view, message_action> message_types[] = {
      {"message.created", message_action::created},
      {"message.edited", message_action::edited},
      {"message.deleted", message_action::deleted}};
  static const std::pair<std::string_view, presence_action> presence_types[] = {
      {"presence.online", presence_action::online},
      {"presence.offline", presence_action::offline},
      {"presence.sockets", presence_action::sockets}};
  // Records of other producers may lack the event_type header: the payload names it.
  std::optional<boost::json::object> payload;
  auto parsed = [&]() -> const boost::json::object& {
    if (!payload) {
      boost::json::error_code ec;
      auto v = boost::json::parse(e.payload, ec);
      if (ec || !v.is_object()) throw std::invalid_argument("the payload is not a JSON object");
      payload = std::move(v.as_object());
    }
    return *payload;
  };
  std::string type = e.event_type;
  if (type.empty()) {
    const auto* t = parsed().if_contains("event_type");
    if (t && t->is_string()) type = std::string(t->as_string());
  }
  for (const auto& [name, action] : message_types)
    if (type == name) return message_fact_of(parsed(), action);
  for (const auto& [name, action] : presence_types)
    if (type == name) return presence_fact_of(parsed(), action);
  return std::nullopt;
}

}  // namespace sl::domain::analytics
