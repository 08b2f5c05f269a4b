#pragma once
// The subscription hub of one I/O context: which local sockets subscribe to
// which channels, and delivery to them in `seq` order; also which sockets
// each user has here, for notifications (written to every socket of their
// recipient, whatever it subscribes to).
//
// Ordering: per channel the hub keeps `next`, the seq it delivers next.
// Events may arrive out of order (publishers run on many threads and nodes)
// or not at all (a broker outage): an event past `next` is held, and if the
// gap is still open after `gap_wait` the hub reads the missing messages from
// the store (a seq missing there was deleted). Each subscription also keeps
// the last seq it was given, so a message is never delivered twice, and a
// subscription replaying history buffers live frames until its replay ends.
//
// Viewers: every subscription that starts (add) or ends (remove, whichever
// path: unsubscribe, membership ended, channel deleted, detach) is reported
// to the broker once (viewer_added/viewer_removed), so that the notifier can
// tell who is looking at a channel across nodes.
//
// Threads: every call on the hub's context (the sessions live there too);
// broker events are posted to it. Lifetime: owned by the gateway.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/task.hpp"
#include "domain/broker.hpp"
#include "transport/ws/services.hpp"
#include "transport/ws/subscriber.hpp"

namespace sl::ws {

class hub {
 public:
  hub(boost::asio::any_io_executor ex, services& sv);

  const boost::asio::any_io_executor& executor() const noexcept { return ex_; }
  void attach(const std::shared_ptr<subscriber>& s);
  // Ends every subscription of `s` and forgets it.
  void detach(subscriber& s);
  std::vector<std::shared_ptr<subscriber>> sessions() const;

  // The seq through which the channel's subscribers have been served (live),
  // creating the channel's state from `baseline` (its last seq, read after
  // the broker subscription began) if it has none yet.
  std::int64_t delivered_through(const channel_id& c, std::int64_t baseline);
  // Subscribes `s`; live messages after `last` go to it (buffered while
  // `replaying`, until end_replay()). The caller holds one interest in c.
  // A `viewing` subscription makes its user a viewer of c in the broker (the
  // notifier spares viewers); a background one (unread counts) does not.
  void add(const std::shared_ptr<subscriber>& s, const channel_id& c, std::int64_t last, bool replaying, bool presence,
           bool viewing);
  void end_replay(subscriber& s, const channel_id& c);
  // Ends one subscription and releases its interest; false if there was none.
  bool remove(subscriber& s, const channel_id& c);
  bool subscribed(subscriber& s, const channel_id& c) const;

  // The channel's members (cached for presence_members_ttl).
  task<std::vector<user_id>> members(channel_id c);

  // Calls idle_check() on every connection every `every` (one timer per hub,
  // not one per socket).
  void start_sweep(std::chrono::milliseconds every);

  void on_event(const domain::broker_event& e);
  // The broker came back: fill every channel's gap from the store.
  void resync();

 private:
  struct pending_frame {
    std::int64_t seq;  // 0 for frames that are not new messages
    frame_ptr frame;
  };
  struct subscription {
    std::shared_ptr<subscriber> s;
    std::int64_t last = 0;
    bool replaying = false;
    bool presence = false;
    bool viewing = false;
    std::vector<pending_frame> pending;
    std::size_t pending_bytes = 0;
  };
  struct channel_state {
    channel_id id;
    std::int64_t next = 1;
    std::map<std::int64_t, frame_ptr> held;  // arrived before `next`'s turn
    std::uint64_t held_generation = 0;       // bumped on every hold
    bool syncing = false;
    bool gap_timer_running = false;
    bool closed = false;  // no subscribers left: the state was dropped
    std::unordered_map<subscriber*, subscription> subs;
    std::unordered_set<user_id, uuid_hash> members;
    timestamp members_loaded{};
  };
  using state_ptr = std::shared_ptr<channel_state>;

  void on_message(const state_ptr& st, std::int64_t seq, const frame_ptr& f);
  void deliver(channel_state& st, std::int64_t seq, const frame_ptr& f);
  void give(subscription& sub, std::int64_t seq, const frame_ptr& f);
  void drain_held(channel_state& st);
  void broadcast(channel_state& st, const frame_ptr& f, const user_id* skip_user);
  void end_channel(const state_ptr& st, std::string_view reason, const user_id* only);
  // Whether any subscription of the channel asked for presence, and giving those a frame.
  static bool watched(const channel_state& st);
  void give_watchers(channel_state& st, const frame_ptr& f);
  void on_presence(const domain::broker_event& e);
  void on_member_joined(const state_ptr& st, const user_id& who);
  task<void> announce_if_online(state_ptr st, user_id who);
  void on_notification(const domain::broker_event& e);
  void arm_gap_timer(const state_ptr& st);
  task<void> gap_timer(state_ptr st);
  task<void> sync(state_ptr st);
  task<void> refresh_members(state_ptr st);
  void drop_if_empty(const state_ptr& st);

  void arm_sweep();

  boost::asio::any_io_executor ex_;
  std::unique_ptr<boost::asio::steady_timer> sweep_;
  std::chrono::milliseconds sweep_every_{0};
  services& sv_;
  std::unordered_map<channel_id, state_ptr, uuid_hash> channels_;
  std::unordered_map<subscriber*, std::shared_ptr<subscriber>> sessions_;
  std::unordered_map<user_id, std::vector<subscriber*>, uuid_hash> by_user_;  // the same sessions, per user
};

}  // namespace sl::ws
