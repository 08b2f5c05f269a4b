#pragma once
// Channels and their members: the rules of contract.md section 2.2 over the
// store. Inputs are already validated (lengths, enums); this decides who may
// do what and in which order errors are reported. Thread-safe (stateless).

#include "base/result.hpp"
#include "base/task.hpp"
#include "domain/model.hpp"
#include "domain/realtime.hpp"
#include "domain/store.hpp"

namespace sl::domain {

struct channel_draft {
  std::string name;
  std::optional<std::string> description;
  bool is_private = false;
};

class channel_service {
 public:
  // `live` hears about ended memberships of private channels and deletions.
  channel_service(store& db, const clock& clk, realtime_sink& live) : db_(db), clock_(clk), live_(live) {}

  task<result<channel>> create(const principal& p, channel_draft d);
  task<std::vector<channel>> list(const principal& p, page pg);
  task<result<channel>> get(const principal& p, channel_id id);
  task<result<channel>> update(const principal& p, channel_id id, channel_update u);
  task<result<void>> remove(const principal& p, channel_id id);

  task<result<member>> add_member(const principal& p, channel_id id, user_id who, role r);
  task<result<member>> join(const principal& p, channel_id id);
  task<result<std::vector<member>>> members(const principal& p, channel_id id);
  task<result<void>> remove_member(const principal& p, channel_id id, user_id who);
  task<result<void>> mark_read(const principal& p, channel_id id, std::int64_t seq);

  // The direct conversation of `p` and `other` (found, or created with
  // `created` set). Errors: user_not_found (not_found), yourself (bad_request).
  task<result<channel>> open_direct(const principal& p, user_id other, bool& created);
  // Mutes (or unmutes) the channel for `p`. Errors: channel_not_found, read_denied (not a member).
  task<result<void>> set_muted(const principal& p, channel_id id, bool muted);

 private:
  store& db_;
  const clock& clock_;
  realtime_sink& live_;
};

}  // namespace sl::domain
