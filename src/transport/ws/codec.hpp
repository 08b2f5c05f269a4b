#pragma once
// The WebSocket protocol of contract.md section 3 as values: client frames
// parsed and validated into requests, server frames rendered to JSON text
// (`type`, then `timestamp`, then the frame's fields, flat). No Beast, no I/O;
// thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "base/error.hpp"
#include "base/time.hpp"
#include "domain/broker.hpp"
#include "domain/message_service.hpp"
#include "domain/model.hpp"

namespace sl::ws {

enum class request_type { ping, subscribe, unsubscribe, send, typing_start, typing_stop };

struct client_request {
  request_type type = request_type::ping;
  channel_id channel;
  std::optional<std::int64_t> since_seq;  // subscribe
  bool presence = false;                  // subscribe
  bool viewing = true;                    // subscribe: false for a background subscription (still notified)
  domain::message_draft draft;            // send
};

// An `error` frame's content. `client_msg_id` echoes a failed message.send's.
struct frame_error {
  std::string code;
  std::string text;
  std::optional<std::string> client_msg_id;
};

std::variant<client_request, frame_error> parse_client_frame(std::string_view text);
// The frame error for a domain failure of a request.
frame_error to_frame_error(const error& e, std::optional<std::string> client_msg_id = std::nullopt);

std::string pong_frame(timestamp now);
std::string success_frame(timestamp now, std::string_view message, const channel_id& c,
                          std::optional<bool> recovered = std::nullopt);
std::string error_frame(timestamp now, const frame_error& e);
std::string ack_frame(timestamp now, const std::optional<std::string>& client_msg_id, const domain::message& m);
// message.receive / message.updated / message.deleted.
std::string message_frame(timestamp now, domain::message_change kind, const domain::message& m,
                          std::string_view username);
// The message's created_at in a frame made by message_frame(), read without
// parsing the JSON (the gateway times fan-out with it); nullopt for any
// other frame.
std::optional<timestamp> message_created_at(std::string_view frame);
std::string typing_frame(timestamp now, const channel_id& c, const user_id& u, std::string_view username,
                         bool is_typing);
std::string presence_frame(timestamp now, const user_id& u, domain::presence_status s);
std::string unsubscribed_frame(timestamp now, const channel_id& c, std::string_view reason);
// To every socket of a user who became a member of `c` (joined or added).
std::string joined_frame(timestamp now, const channel_id& c);

}  // namespace sl::ws
