#include "domain/store.hpp"

namespace sl::domain {

message as_created(const new_message& m, std::int64_t seq) {
  message msg;
  msg.id = m.id;
  msg.channel = m.channel;
  msg.author = m.author;
  msg.content = m.content;
  msg.type = m.type;
  msg.metadata = m.metadata;
  msg.created_at = m.now;
  msg.updated_at = m.now;
  msg.seq = seq;
  msg.parent = m.parent;
  msg.client_msg_id = m.client_msg_id;
  msg.mentions = m.mentions;
  return msg;
}

}  // namespace sl::domain
