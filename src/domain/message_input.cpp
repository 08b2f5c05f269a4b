#include "domain/message_input.hpp"

namespace sl::domain {

std::optional<std::string> read_message_content(field_reader& f, const boost::json::object& o) {
  auto content = f.required_string("content", 1, max_message_content);
  if (content && is_blank(*content)) {
    f.add("value_error", "content", "Value error, Content cannot be blank", o.if_contains("content"), "{\"error\":{}}");
    return std::nullopt;
  }
  return content;
}

std::optional<message_draft> read_message_draft(field_reader& f, const boost::json::object& o) {
  auto channel = f.required_uuid("channel_id");
  auto content = read_message_content(f, o);
  auto type = f.optional_enum("message_type", {"text", "image", "file", "system"});
  auto metadata = f.optional_object("metadata");
  auto parent = f.optional_uuid("parent_id");
  auto client_msg_id = f.optional_string("client_msg_id", 1, max_client_msg_id);
  if (!f.ok()) return std::nullopt;
  message_draft d;
  d.channel = channel_id{*channel};
  d.content = std::move(*content);
  d.type = parse_message_type(type.value_or("text")).value_or(message_type::text);
  d.metadata = metadata ? std::move(*metadata) : boost::json::value(nullptr);
  if (parent && *parent) d.parent = message_id{**parent};
  if (client_msg_id && *client_msg_id) d.client_msg_id = std::move(**client_msg_id);
  return d;
}

}  // namespace sl::domain
