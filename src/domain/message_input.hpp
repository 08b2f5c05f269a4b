#pragma once
// Reads a message out of a JSON object, with the field rules of contract.md
// section 2.2, for every transport (a REST body, a WebSocket `message.send`
// frame). Failures are collected in the reader, FastAPI-shaped.

#include <boost/json/object.hpp>
#include <optional>
#include <string>

#include "domain/message_service.hpp"
#include "domain/validation.hpp"

namespace sl::domain {

inline constexpr std::size_t max_message_content = 10000;
inline constexpr std::size_t max_client_msg_id = 100;

// `content`: 1..10000 code points and not only whitespace.
std::optional<std::string> read_message_content(field_reader& f, const boost::json::object& o);
// channel_id, content, message_type, metadata, parent_id, client_msg_id.
std::optional<message_draft> read_message_draft(field_reader& f, const boost::json::object& o);

}  // namespace sl::domain
