#include "domain/model.hpp"

namespace sl::domain {

std::string_view to_string(role r) {
  switch (r) {
    case role::owner:
      return "owner";
    case role::admin:
      return "admin";
    case role::member:
      return "member";
  }
  return "member";
}

std::optional<role> parse_role(std::string_view s) {
  if (s == "owner") return role::owner;
  if (s == "admin") return role::admin;
  if (s == "member") return role::member;
  return std::nullopt;
}

std::string_view to_string(message_type t) {
  switch (t) {
    case message_type::text:
      return "text";
    case message_type::image:
      return "image";
    case message_type::file:
      return "file";
    case message_type::system:
      return "system";
  }
  return "text";
}

std::optional<message_type> parse_message_type(std::string_view s) {
  if (s == "text") return message_type::text;
  if (s == "image") return message_type::image;
  if (s == "file") return message_type::file;
  if (s == "system") return message_type::system;
  return std::nullopt;
}

}  // namespace sl::domain
