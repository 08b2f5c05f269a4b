#pragma once
// How a broker_event travels in a Redis pub/sub message (version 1): one
// header line of space-separated fields, then the frame's bytes unchanged.
//
//   v1 <kind> <channel> <seq> <actor> <status> <reason> <has_frame>\n<frame>
//
//   kind       message_created | message_updated | message_deleted | typing |
//              membership_ended | channel_deleted | presence | notification
//   channel    canonical uuid, or "-" for none (presence, notification)
//   seq        decimal int64
//   actor      canonical uuid, or "-"
//   status     online | offline
//   reason     "-" when empty, else percent-encoded (bytes other than
//              A-Z a-z 0-9 _ . ~ as %XX)
//   has_frame  1 (the frame follows) or 0 (no frame: nothing follows)
//
// A receiver that meets another version or anything malformed drops the
// message (decode returns nullopt; it never throws on any input).

#include <optional>
#include <string>
#include <string_view>

#include "domain/broker.hpp"

namespace sl::broker::redis::detail {

std::string encode_event(const domain::broker_event& e);
std::optional<domain::broker_event> decode_event(std::string_view payload);

}  // namespace sl::broker::redis::detail
