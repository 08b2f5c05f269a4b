#pragma once
// The broker port: real-time fan-out between gateway nodes, and presence
// counted across them (architecture.md, "Scale-out").
//
// Delivery is at most once and best effort: an event published while the
// broker is unreachable is dropped. Nothing durable depends on it: messages
// are in the store first, carry their channel `seq`, and gateways fill any gap
// from the store (on the next event of the channel, or for every channel when
// the broker reconnects).
//
// Threads: every call may be made from any thread. The handlers installed by
// start() may run on any thread, concurrently with each other; they must be
// quick and must not block (they hand work to the gateway's executors). Events
// published from one thread reach each node's handler in publish order.
//
// Failures: publish() never throws and never blocks. subscribe() and the
// presence calls do not hang when the broker is down: they complete with what
// is known locally and the implementation re-establishes its state (topics,
// presence counts) when it reconnects.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/task.hpp"
#include "base/uuid.hpp"

namespace sl::domain {

enum class broker_event_kind : std::uint8_t {
  message_created,     // channel, seq, actor = author
  message_updated,     // channel, seq, actor = editor
  message_deleted,     // channel, seq, actor = deleter
  typing,              // channel, actor = typist (their own sockets are skipped)
  membership_ended,    // channel, actor = the user whose membership ended
  channel_deleted,     // channel, actor = who deleted it
  presence,            // no channel; actor = the user; status says which way
  notification,        // no channel; actor = the recipient; frame (notification.new, channel.joined) to their sockets
  membership_started,  // channel, actor = the new member (presence watchers learn whether they are online)
};

enum class presence_status : std::uint8_t { online, offline };

// One event as it travels between nodes. `frame` is the complete server frame
// (JSON text), built once by the publisher and shared, unchanged, by every
// socket it is written to; it may be null for kinds the receiver renders
// itself (presence).
struct broker_event {
  broker_event_kind kind = broker_event_kind::message_created;
  channel_id channel;
  std::int64_t seq = 0;
  user_id actor;
  presence_status status = presence_status::online;
  std::string reason;  // membership_ended: "removed"
  std::shared_ptr<const std::string> frame;
};

struct broker_handlers {
  // Every event of a subscribed channel and every presence event, including
  // the ones this node published. An implementation may also deliver events
  // of channels this node did not subscribe to (in process it does): the
  // gateway ignores channels it has no subscribers for. The broker itself
  // emits presence events where counts change without a socket doing so:
  // `offline` for the users a crashed node leaves without sockets (once its
  // heartbeat expires), `offline` for this node's users on stop(), and
  // `online`/`offline` when it re-registers this node's counts after an
  // outage.
  std::function<void(const broker_event&)> on_event;
  // The broker came back after an outage (or connected for the first time
  // after failed attempts): events may have been lost.
  std::function<void()> on_reconnect;
};

class broker {
 public:
  virtual ~broker() = default;

  // Installs the handlers and connects (in the background for remote
  // brokers: start() does not fail when the broker is down). Call once.
  virtual void start(broker_handlers h) = 0;
  // Stops delivering, says goodbye to the broker (presence of this node's
  // users is withdrawn), and releases connections. Idempotent.
  virtual task<void> stop() = 0;

  // "in_process" or "redis".
  virtual std::string_view name() const noexcept = 0;
  // True while events can flow between nodes (always for in-process).
  virtual bool connected() const noexcept = 0;
  // A real round trip (PING) when remote; false when it fails or times out.
  virtual task<bool> check() = 0;

  // Node-level interest in a channel. The gateway calls subscribe when its
  // first local socket subscribes and unsubscribe after the last leaves (it
  // counts; the broker does not). subscribe completes once events published
  // afterwards are sure to arrive, or at once while disconnected.
  virtual task<void> subscribe(channel_id c) = 0;
  virtual void unsubscribe(channel_id c) = 0;

  // Sends `e` to every node subscribed to e.channel (presence and
  // notification events: to every node), this one included; dropped (and
  // counted) while disconnected.
  virtual void publish(broker_event e) = 0;

  // Presence across nodes: one call per socket. Return true when the user's
  // first socket anywhere opened (opened) or their last one closed (closed):
  // the caller then publishes a presence event.
  virtual task<bool> socket_opened(user_id u) = 0;
  virtual task<bool> socket_closed(user_id u) = 0;
  // The subset of `users` with at least one socket open on a live node.
  virtual task<std::vector<user_id>> online_among(std::vector<user_id> users) = 0;

  // Who is looking at a channel, across nodes: one call per socket
  // subscription that starts or ends (the gateway calls it; counts per
  // (channel, user) live in the broker). Never blocks or throws.
  virtual void viewer_added(channel_id c, user_id u) = 0;
  virtual void viewer_removed(channel_id c, user_id u) = 0;
  // The subset of `users` with a socket subscribed to `c` on a live node
  // (while a remote broker is unreachable: on this node).
  virtual task<std::vector<user_id>> viewing_among(channel_id c, std::vector<user_id> users) = 0;

  // True for the first claim of `key` across nodes within `ttl` (single-use
  // tokens such as WebSocket tickets). While a remote broker is unreachable
  // the claim is decided by this node alone.
  virtual task<bool> claim_once(std::string key, std::chrono::milliseconds ttl) = 0;
};

}  // namespace sl::domain
