#pragma once
// The real-time port: what the services announce to live subscribers after a
// write has committed (the gateway implements it over the broker). Calls are
// fire-and-forget, never block and never throw: live delivery is best effort,
// and anything lost is recovered from the store by `seq`.
// Thread-safe: called from any I/O thread.

#include <string_view>

#include "domain/model.hpp"

namespace sl::domain {

enum class message_change { created, updated, deleted };

class realtime_sink {
 public:
  virtual ~realtime_sink() = default;
  // `m` as stored; `author_name` is the author's username; `actor` made the change.
  virtual void message_changed(message_change kind, const message& m, std::string_view author_name,
                               const user_id& actor) = 0;
  // `who` became a member of the channel (joined, or was added).
  virtual void membership_started(const channel_id& c, const user_id& who) = 0;
  // `who` lost access to a private channel they belonged to (removed or left).
  virtual void membership_ended(const channel_id& c, const user_id& who) = 0;
  virtual void channel_deleted(const channel_id& c, const user_id& actor) = 0;
};

// Announces nothing: processes without a gateway or broker.
class null_realtime_sink final : public realtime_sink {
 public:
  void message_changed(message_change, const message&, std::string_view, const user_id&) override {}
  void membership_started(const channel_id&, const user_id&) override {}
  void membership_ended(const channel_id&, const user_id&) override {}
  void channel_deleted(const channel_id&, const user_id&) override {}
};

}  // namespace sl::domain
