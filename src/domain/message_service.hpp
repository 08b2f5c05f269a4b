#pragma once
// Sending, reading, editing and deleting messages (contract.md section 2.2),
// shared by REST and (later) the WebSocket gateway. Inputs are validated;
// this applies membership, authorship and rate limits. Thread-safe.

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/model.hpp"
#include "domain/rate_limiter.hpp"
#include "domain/realtime.hpp"
#include "domain/store.hpp"

namespace sl::domain {

struct message_draft {
  channel_id channel;
  std::string content;
  message_type type = message_type::text;
  boost::json::value metadata;
  std::optional<message_id> parent;
  std::optional<std::string> client_msg_id;
};

class message_service {
 public:
  // `live` hears every committed create, edit and delete.
  message_service(store& db, const clock& clk, rate_limiter& limiter, realtime_sink& live)
      : db_(db), clock_(clk), limiter_(limiter), live_(live) {}

  task<result<created_message>> send(const principal& p, message_draft d);
  task<result<std::vector<message>>> history(const principal& p, channel_id c, history_query q);
  task<result<message>> get(const principal& p, message_id id);
  task<result<std::vector<message>>> replies(const principal& p, message_id id, page pg);
  task<result<message>> edit(const principal& p, message_id id, std::string content);
  task<result<void>> remove(const principal& p, message_id id);

 private:
  // Ids of the existing users named by `@username` in `content`.
  task<std::vector<user_id>> resolve_mentions(std::string_view content);
  // The message if it exists, is not deleted and `p` may read its channel.
  task<result<message>> readable(const principal& p, message_id id);

  store& db_;
  const clock& clock_;
  rate_limiter& limiter_;
  realtime_sink& live_;
};

}  // namespace sl::domain
