#pragma once
// The traffic every micro-benchmark uses, so that their numbers compare: one
// typical text message of ~100 bytes, as a client sends it and as the gateway
// renders it for subscribers.

#include <string>

#include "base/time.hpp"
#include "domain/model.hpp"
#include "transport/ws/codec.hpp"
#include "transport/ws/services.hpp"

namespace sl::bench {

// 102 bytes of ASCII, the size of a typical chat line.
inline const std::string sample_content =
    "Deploy of build 4812 finished on staging: smoke tests are green, promoting to production at 14:00 UTC.";

// A committed text message with the sample content (no metadata, no parent).
inline domain::message sample_message(const channel_id& c, const user_id& author, std::int64_t seq) {
  domain::message m;
  m.id = message_id::generate();
  m.channel = c;
  m.author = author;
  m.content = sample_content;
  m.type = domain::message_type::text;
  m.metadata = nullptr;
  m.created_at = system_clock{}.now();
  m.updated_at = m.created_at;
  m.seq = seq;
  m.client_msg_id = "c-7f3a9e21-0001";
  return m;
}

// The client's message.send frame for the sample message.
inline std::string sample_send_frame(const channel_id& c) {
  return R"({"type":"message.send","channel_id":")" + c.str() + R"(","content":")" + sample_content +
         R"(","message_type":"text","client_msg_id":"c-7f3a9e21-0001"})";
}

// The message.receive frame subscribers get for the sample message, as the
// publisher renders it.
inline ws::frame_ptr sample_receive_frame(const channel_id& c, const user_id& author, std::int64_t seq) {
  return ws::make_frame(ws::message_frame(system_clock{}.now(), domain::message_change::created,
                                          sample_message(c, author, seq), "alice"));
}

}  // namespace sl::bench
