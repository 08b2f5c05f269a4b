#pragma once
// The Redis implementation of the broker port (domain/broker.hpp), for
// scale-out: events travel over Redis pub/sub, presence is counted in Redis.
//
// Connections: two per broker, one subscribed (the presence and notification
// topics always, and one topic per channel this node is interested in), one
// for commands (PUBLISH, the presence scripts, viewer counts, PING). Both are hiredis asynchronous
// connections driven on the broker's strand; no call blocks a thread.
// When either fails, both are replaced: reconnects back off exponentially
// (reconnect_min doubling up to reconnect_max, with jitter); once connected
// again the broker re-subscribes every wanted topic, re-registers this node's
// presence and viewer counts (publishing the presence transitions that
// causes), and then calls on_reconnect (also after a first connection that only succeeded
// after failed attempts: events may have been missed). While disconnected,
// publish() drops (and counts) events, subscribe() and the presence calls
// answer from what this node knows, and connected()/check() say false.
//
// Presence: each node keeps its users' socket counts in Redis and refreshes a
// heartbeat key (TTL heartbeat_ttl) every heartbeat_interval. Every node
// sweeps nodes whose heartbeat expired and publishes `offline` for the users
// they leave without sockets; the sweep is one script, so each `offline` is
// announced by exactly one node. stop() withdraws this node's counts and
// publishes `offline` for the users who thereby have no socket left.
//
// Viewers: each node keeps, per channel, its sockets subscribed per user
// (viewer_added/removed update a local map and send the new count to Redis
// without waiting); viewing_among() counts nodes whose heartbeat is alive,
// plus this node's own map (alone while disconnected). They go with the
// node's presence counts: swept with a dead node, withdrawn by stop(),
// written again after an outage.
//
// Threads: any method from any thread; state lives on a strand of `ex`, and
// the handlers run on that strand. Lifetime: the io_context of `ex` must
// outlive the broker; destroying it without stop() drops the connections
// without goodbye (as a crash would: its users go offline when its heartbeat
// expires).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "domain/broker.hpp"

namespace sl::broker::redis {

struct redis_settings {
  // redis://[[user]:password@]host[:port][/db] (redis_url.hpp).
  std::string url;
  // This node's id in Redis; empty: a random uuid.
  std::string node_id;
  // Prepended to every key and topic: "<prefix>ch:<channel>", "<prefix>presence".
  std::string prefix = "signalink:";
  std::chrono::milliseconds heartbeat_interval{3000};
  std::chrono::milliseconds heartbeat_ttl{10000};
  // Deadline of every Redis command, and of each connection attempt.
  std::chrono::milliseconds command_timeout{2000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{2000};
};

// Validates the settings and returns the broker, not yet connected: start()
// connects in the background. Throws std::invalid_argument for a bad URL, a
// duration that is not positive, heartbeat_ttl <= heartbeat_interval, or
// reconnect_max < reconnect_min. Keep heartbeat_ttl above heartbeat_interval
// + command_timeout, or a slow Redis can get a live node swept.
std::unique_ptr<domain::broker> open_redis_broker(boost::asio::any_io_executor ex, redis_settings s);

}  // namespace sl::broker::redis
