#include "transport/ws/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "domain/message_input.hpp"
#include "domain/validation.hpp"

namespace sl::ws {
namespace {

namespace json = boost::json;

frame_error bad(std::string code, std::string text) { return frame_error{std::move(code), std::move(text), {}}; }

// "channel_id: Input should be a valid UUID ..." from the first failed field.
std::string describe(const std::vector<field_error>& errors) {
  if (errors.empty()) return "Invalid request";
  const auto& e = errors.front();
  return (e.loc.empty() ? std::string() : e.loc.back() + ": ") + e.msg;
}

json::object head(std::string_view type, timestamp now) {
  json::object o;
  o.reserve(16);
  o.emplace("type", type);
  o.emplace("timestamp", format_iso(now));
  return o;
}

std::optional<std::string> client_msg_id_of(const json::object& o) {
  auto* v = o.if_contains("client_msg_id");
  if (v && v->is_string() && v->as_string().size() <= domain::max_client_msg_id) return std::string(v->as_string());
  return std::nullopt;
}

}  // namespace

std::variant<client_request, frame_error> parse_client_frame(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return bad("bad_request", "Invalid JSON: " + ec.message());
  if (!v.is_object()) return bad("bad_request", "A frame must be a JSON object");
  const auto& o = v.get_object();
  auto* type = o.if_contains("type");
  if (!type || !type->is_string()) return bad("bad_request", "Missing message type");
  const std::string_view t = type->get_string();

  client_request r;
  domain::field_reader f(o, "frame");
  if (t == "ping") {
    r.type = request_type::ping;
    return r;
  }
  if (t == "channel.subscribe" || t == "channel.unsubscribe" || t == "typing.start" || t == "typing.stop") {
    auto c = f.required_uuid("channel_id");
    if (t == "channel.subscribe") {
      r.type = request_type::subscribe;
      r.since_seq = f.optional_int("since_seq", 0);
      r.presence = f.optional_bool("presence").value_or(false);
      r.viewing = f.optional_bool("viewing").value_or(true);
    } else if (t == "channel.unsubscribe") {
      r.type = request_type::unsubscribe;
    } else {
      r.type = t == "typing.start" ? request_type::typing_start : request_type::typing_stop;
    }
    if (!f.ok()) return bad("invalid", describe(f.errors()));
    r.channel = channel_id{*c};
    return r;
  }
  if (t == "message.send") {
    auto d = domain::read_message_draft(f, o);
    if (!d) return frame_error{"invalid", describe(f.errors()), client_msg_id_of(o)};
    r.type = request_type::send;
    r.channel = d->channel;
    r.draft = std::move(*d);
    return r;
  }
  return bad("unknown_type", "Unknown message type: " + std::string(t.substr(0, 100)));
}

frame_error to_frame_error(const error& e, std::optional<std::string> client_msg_id) {
  std::string code;
  switch (e.kind) {
    case error_kind::bad_request:
    case error_kind::invalid:
      code = "invalid";
      break;
    case error_kind::unauthorized:
    case error_kind::forbidden:
      code = "forbidden";
      break;
    case error_kind::not_found:
      code = "not_found";
      break;
    case error_kind::rate_limited:
      code = "rate_limited";
      break;
    case error_kind::unavailable:
      code = "internal";
      break;
  }
  auto text = e.kind == error_kind::invalid && !e.fields.empty() ? describe(e.fields) : e.detail;
  return frame_error{std::move(code), std::move(text), std::move(client_msg_id)};
}

std::string pong_frame(timestamp now) { return json::serialize(head("pong", now)); }

std::string success_frame(timestamp now, std::string_view message, const channel_id& c, std::optional<bool> recovered) {
  auto o = head("success", now);
  o.emplace("message", message);
  json::object data{{"channel_id", c.str()}};
  if (recovered) data.emplace("recovered", *recovered);
  o.emplace("data", std::move(data));
  return json::serialize(o);
}

std::string error_frame(timestamp now, const frame_error& e) {
  auto o = head("error", now);
  o.emplace("error", e.text);
  o.emplace("code", e.code);
  if (e.client_msg_id) o.emplace("client_msg_id", *e.client_msg_id);
  return json::serialize(o);
}

std::string ack_frame(timestamp now, const std::optional<std::string>& client_msg_id, const domain::message& m) {
  auto o = head("message.ack", now);
  o.emplace("client_msg_id", client_msg_id ? json::value(*client_msg_id) : json::value(nullptr));
  o.emplace("message_id", m.id.str());
  o.emplace("channel_id", m.channel.str());
  o.emplace("seq", m.seq);
  return json::serialize(o);
}

std::string message_frame(timestamp now, domain::message_change kind, const domain::message& m,
                          std::string_view username) {
  const char* type = kind == domain::message_change::created   ? "message.receive"
                     : kind == domain::message_change::updated ? "message.updated"
                                                               : "message.deleted";
  auto o = head(type, now);
  o.emplace("message_id", m.id.str());
  o.emplace("channel_id", m.channel.str());
  o.emplace("user_id", m.author ? json::value(m.author->str()) : json::value(nullptr));
  o.emplace("username", username);
  o.emplace("content", m.content);
  o.emplace("message_type", domain::to_string(m.type));
  o.emplace("metadata", m.metadata);
  o.emplace("created_at", format_iso(m.created_at));
  o.emplace("seq", m.seq);
  o.emplace("parent_id", m.parent ? json::value(m.parent->str()) : json::value(nullptr));
  o.emplace("client_msg_id", m.client_msg_id ? json::value(*m.client_msg_id) : json::value(nullptr));
  return json::serialize(o);
}

std::optional<timestamp> message_created_at(std::string_view frame) {
  // The last occurrence is the message's own: message_frame() writes
  // created_at after the user's content and metadata (which may hold that
  // key), and a JSON string cannot hold an unescaped quote.
  constexpr std::string_view key = "\"created_at\":\"";
  const auto at = frame.rfind(key);
  if (at == std::string_view::npos) return std::nullopt;
  const auto start = at + key.size();
  const auto end = frame.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return parse_iso(frame.substr(start, end - start));
}

std::string typing_frame(timestamp now, const channel_id& c, const user_id& u, std::string_view username,
                         bool is_typing) {
  auto o = head("typing.indicator", now);
  o.emplace("channel_id", c.str());
  o.emplace("user_id", u.str());
  o.emplace("username", username);
  o.emplace("is_typing", is_typing);
  return json::serialize(o);
}

std::string presence_frame(timestamp now, const user_id& u, domain::presence_status s) {
  auto o = head("presence.update", now);
  o.emplace("user_id", u.str());
  o.emplace("status", s == domain::presence_status::online ? "online" : "offline");
  return json::serialize(o);
}

std::string unsubscribed_frame(timestamp now, const channel_id& c, std::string_view reason) {
  auto o = head("channel.unsubscribed", now);
  o.emplace("channel_id", c.str());
  o.emplace("reason", reason);
  return json::serialize(o);
}

std::string joined_frame(timestamp now, const channel_id& c) {
  auto o = head("channel.joined", now);
  o.emplace("channel_id", c.str());
  return json::serialize(o);
}

}  // namespace sl::ws
