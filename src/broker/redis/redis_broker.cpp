#include "broker/redis/redis_broker.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/log.hpp"
#include "base/random.hpp"
#include "broker/metrics.hpp"
#include "broker/redis/detail/scripts.hpp"
#include "broker/redis/detail/wire.hpp"
#include "broker/redis/redis_connection.hpp"
#include "broker/redis/redis_url.hpp"

namespace sl::broker::redis {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using detail::script;
using domain::broker_event;
using domain::broker_event_kind;
using domain::presence_status;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t script_count = static_cast<std::size_t>(script::count_);
constexpr std::array<const char*, script_count> script_names{"opened",   "closed", "beat",      "sweep",  "reregister",
                                                             "withdraw", "online", "reviewers", "viewing"};

std::string script_source(script s) {
  return std::string(detail::withdraw_fn) + std::string(detail::script_bodies[static_cast<std::size_t>(s)]);
}

// Heterogeneous lookup: topics arrive as string_views into hiredis's reply.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using topic_set = std::unordered_set<std::string, string_hash, std::equal_to<>>;

// Something awaited with a deadline: `remaining` confirmations, or one event.
// Waking it cancels its timer, so the waiter resumes later on the strand.
struct waiter {
  waiter(const asio::any_io_executor& ex, std::size_t n) : timer(ex), remaining(n) {}
  void finish(bool success) {
    if (done) return;
    done = true;
    ok = success;
    timer.cancel();
  }
  asio::steady_timer timer;
  std::size_t remaining;
  bool done = false;
  bool ok = false;
};

enum class outcome { ok, failed, timed_out };

task<outcome> wait_for(std::shared_ptr<waiter> w, clock::time_point deadline) {
  if (!w->done) {
    w->timer.expires_at(deadline);
    co_await w->timer.async_wait(use_tuple);
  }
  if (!w->done) co_return outcome::timed_out;
  co_return w->ok ? outcome::ok : outcome::failed;
}

std::vector<std::string> strings_of(const redis_reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elements)
    if (e.kind == redis_reply::type::string) out.push_back(e.str);
  return out;
}

// The broker's state. Every member runs on strand_ (the coroutines are
// spawned there and take `self` to stay alive while they wait).
class broker_core : public std::enable_shared_from_this<broker_core> {
 public:
  broker_core(const asio::any_io_executor& ex, redis_settings s, redis_endpoint ep)
      : s_(std::move(s)),
        endpoint_(std::move(ep)),
        strand_(asio::make_strand(ex)),
        presence_topic_(s_.prefix + "presence"),
        notification_topic_(s_.prefix + "notifications"),
        views_key_(s_.prefix + "node:" + s_.node_id + ":views"),
        wake_(strand_) {}

  ~broker_core() {
    if (cmd_) cmd_->close();
    if (sub_) sub_->close();
    set_connected(false);
  }

  const asio::any_io_executor& strand() const noexcept { return strand_; }
  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }

  void begin(domain::broker_handlers h);
  void abandon();
  task<void> stop(std::shared_ptr<broker_core> self);
  task<bool> check(std::shared_ptr<broker_core> self);
  task<void> subscribe(std::shared_ptr<broker_core> self, channel_id c);
  void unsubscribe(channel_id c);
  void publish(const broker_event& e);
  task<bool> socket_opened(std::shared_ptr<broker_core> self, user_id u);
  task<bool> socket_closed(std::shared_ptr<broker_core> self, user_id u);
  task<std::vector<user_id>> online_among(std::shared_ptr<broker_core> self, std::vector<user_id> users);
  void viewer_added(const channel_id& c, const user_id& u);
  void viewer_removed(const channel_id& c, const user_id& u);
  task<std::vector<user_id>> viewing_among(std::shared_ptr<broker_core> self, channel_id c, std::vector<user_id> users);
  task<bool> claim_once(std::shared_ptr<broker_core> self, std::string key, std::chrono::milliseconds ttl);

 private:
  task<void> supervise(std::shared_ptr<broker_core> self);
  task<void> connect_all();
  task<void> serve();
  task<void> heartbeat();
  task<void> reregister(clock::time_point deadline);
  task<outcome> subscribe_topics(std::vector<std::string> topics, clock::time_point deadline);
  task<redis_reply> eval(script which, std::vector<std::string> args, clock::time_point deadline);
  task<void> sleep_for(clock::duration d);
  // Withdraws this node's presence (publishing the offlines) before stopping.
  task<void> goodbye();

  void on_push(const redis_push& p);
  void deliver(std::string_view topic, std::string_view payload);
  bool send_event(const broker_event& e);
  void announce(const std::string& user, presence_status status);
  // Writes this node's viewer count of (c, u) to Redis when connected.
  void write_viewer(const channel_id& c, const user_id& u, int count);
  void connection_failed(const redis_connection* which);
  void drop_connections();
  void set_connected(bool up);
  std::string channel_topic(const channel_id& c) const { return s_.prefix + "ch:" + c.str(); }
  // Where `e` travels: presence and notifications to every node, the rest on its channel's topic.
  std::string topic_of(const broker_event& e) const;
  clock::time_point deadline() const { return clock::now() + s_.command_timeout; }

  const redis_settings s_;
  const redis_endpoint endpoint_;
  const asio::any_io_executor strand_;
  const std::string presence_topic_;
  const std::string notification_topic_;
  const std::string views_key_;  // this node's "<channel>|<user>" viewer fields
  domain::broker_handlers handlers_;

  std::shared_ptr<redis_connection> cmd_;
  std::shared_ptr<redis_connection> sub_;
  bool cmd_ready_ = false;  // scripts loaded: commands may be sent
  bool sub_ready_ = false;  // handshake done: SUBSCRIBE may be sent
  bool broken_ = false;     // a connection failed: the supervisor replaces both
  std::atomic<bool> connected_{false};
  bool running_ = false;         // the supervisor is alive
  bool stopping_ = false;        // no more reconnects
  bool stop_started_ = false;    // stop() or abandon() ran: no more delivery or publishing
  bool had_outage_ = false;      // the next successful connect is a reconnect
  bool connected_seen_ = false;  // this attempt got connected (for logging)

  asio::steady_timer wake_;                            // the supervisor sleeps on it; cancelled to wake it
  std::vector<std::shared_ptr<waiter>> exit_waiters_;  // stop() calls waiting for the supervisor
  topic_set wanted_;                                   // channel topics this node is interested in
  // Per topic, the SUBSCRIBE commands awaiting Redis's confirmation, in order.
  std::unordered_map<std::string, std::deque<std::shared_ptr<waiter>>, string_hash, std::equal_to<>> confirm_;
  std::unordered_map<user_id, int, uuid_hash> local_;  // this node's sockets per user
  // This node's sockets subscribed to a channel, per channel and user.
  std::unordered_map<channel_id, std::unordered_map<user_id, int, uuid_hash>, uuid_hash> viewers_;
  std::unordered_map<std::string, clock::time_point> local_claims_;  // claim_once keys -> expiry
  std::array<std::string, script_count> sha_;
};

// Handlers belong to the gateway: a throw must not unwind through hiredis.
template <typename Fn, typename... Args>
void call_handler(const char* which, const Fn& fn, const Args&... args) {
  if (!fn) return;
  try {
    fn(args...);
  } catch (const std::exception& e) {
    log::error("redis broker: handler threw", {{"handler", which}, {"error", e.what()}});
  } catch (...) {
    log::error("redis broker: handler threw a non-standard exception", {{"handler", which}});
  }
}

void broker_core::set_connected(bool up) {
  if (connected_.exchange(up, std::memory_order_acq_rel) != up) metrics::connected_add(up ? 1 : -1);
}

void broker_core::begin(domain::broker_handlers h) {
  if (running_ || stop_started_) return;
  handlers_ = std::move(h);
  running_ = true;
  asio::co_spawn(strand_, supervise(shared_from_this()), [](const std::exception_ptr& ep) {
    if (ep) log::error("redis broker: supervisor failed", {{"error", log::describe(ep)}});
  });
}

task<void> broker_core::supervise(std::shared_ptr<broker_core> self) {
  auto backoff = s_.reconnect_min;
  while (!stopping_) {
    try {
      co_await connect_all();
      backoff = s_.reconnect_min;
      co_await serve();
    } catch (const std::exception& e) {
      // Once per outage at warning level; the retries that fail too at debug.
      if (!stopping_)
        log::write(had_outage_ && !connected_seen_ ? log::level::debug : log::level::warn, "redis broker: disconnected",
                   {{"node", s_.node_id}, {"error", e.what()}});
    }
    connected_seen_ = false;
    drop_connections();
    if (stopping_) break;
    had_outage_ = true;
    // Equal jitter: between half the backoff and all of it.
    const auto half = std::max<std::int64_t>(1, backoff.count() / 2);
    const auto jitter = static_cast<std::int64_t>(fast_random_u64() % static_cast<std::uint64_t>(half + 1));
    co_await sleep_for(std::chrono::milliseconds(half + jitter));
    backoff = std::min(backoff * 2, s_.reconnect_max);
  }
  running_ = false;
  for (auto& w : std::exchange(exit_waiters_, {})) w->finish(true);
}

task<void> broker_core::sleep_for(clock::duration d) {
  const auto until = clock::now() + d;
  while (!stopping_ && clock::now() < until) {
    wake_.expires_at(until);
    co_await wake_.async_wait(use_tuple);
  }
}

task<void> broker_core::connect_all() {
  const auto until = deadline();
  const auto address = co_await redis_connection::resolve_host(endpoint_.host, until);
  if (stopping_) co_return;
  broken_ = false;
  // Owned by members (so stop() can close them mid-handshake) and by this frame.
  auto cmd = cmd_ = redis_connection::open(strand_, address, endpoint_.port, "redis " + s_.node_id + " commands");
  cmd->on_lost([this, c = cmd.get()] { connection_failed(c); });
  auto sub = sub_ = redis_connection::open(strand_, address, endpoint_.port, "redis " + s_.node_id + " subscriber");
  sub->on_lost([this, c = sub.get()] { connection_failed(c); });
  sub->on_push([this](const redis_push& p) { on_push(p); });

  co_await cmd->handshake(endpoint_, until);
  co_await sub->handshake(endpoint_, until);
  for (std::size_t i = 0; i < script_count; ++i) {
    auto r = co_await cmd->command({"SCRIPT", "LOAD", script_source(static_cast<script>(i))}, until);
    if (r.kind != redis_reply::type::string) throw redis_error("redis broker: SCRIPT LOAD: " + r.str);
    sha_[i] = std::move(r.str);
  }
  if (broken_ || stopping_) throw redis_error("redis broker: connection lost while connecting");
  cmd_ready_ = true;
  // From here subscribe() sends its own SUBSCRIBE: every topic is either in
  // this list or sent by subscribe().
  sub_ready_ = true;
  std::vector<std::string> topics{presence_topic_, notification_topic_};
  topics.insert(topics.end(), wanted_.begin(), wanted_.end());
  if (co_await subscribe_topics(std::move(topics), until) != outcome::ok)
    throw redis_error("redis broker: SUBSCRIBE not confirmed");
  co_await reregister(until);
  if (broken_ || stopping_) throw redis_error("redis broker: connection lost while connecting");
  set_connected(true);
  connected_seen_ = true;
  if (had_outage_) {
    metrics::count_reconnect();
    log::info("redis broker reconnected", {{"node", s_.node_id}, {"topics", wanted_.size()}});
    call_handler("on_reconnect", handlers_.on_reconnect);
  } else {
    log::info("redis broker connected", {{"node", s_.node_id}});
  }
}

task<void> broker_core::serve() {
  for (;;) {
    if (stopping_ || broken_) co_return;
    wake_.expires_after(s_.heartbeat_interval);
    co_await wake_.async_wait(use_tuple);
    if (stopping_ || broken_) co_return;
    co_await heartbeat();
  }
}

task<void> broker_core::heartbeat() {
  const auto until = deadline();
  const auto beat = co_await eval(script::beat, {std::to_string(s_.heartbeat_ttl.count())}, until);
  if (broken_) co_return;  // a late reply on a connection already given up
  if (beat.kind == redis_reply::type::integer && beat.integer == 0) {
    // Our heartbeat had expired (a stall): another node may have swept our counts.
    log::warn("redis broker: heartbeat had expired; registering presence again", {{"node", s_.node_id}});
    co_await reregister(until);
  }
  for (const auto& u : strings_of(co_await eval(script::sweep, {}, until))) announce(u, presence_status::offline);
}

task<void> broker_core::reregister(clock::time_point until) {
  std::vector<std::string> args{std::to_string(s_.heartbeat_ttl.count())};
  for (const auto& [u, n] : local_) {
    args.push_back(u.str());
    args.push_back(std::to_string(n));
  }
  const auto r = co_await eval(script::reregister, std::move(args), until);
  if (r.elements.size() != 2) co_return;
  for (const auto& u : strings_of(r.elements[0])) announce(u, presence_status::online);
  for (const auto& u : strings_of(r.elements[1])) announce(u, presence_status::offline);

  std::vector<std::string> views;
  for (const auto& [c, users] : viewers_) {
    for (const auto& [u, n] : users) {
      views.push_back(c.str() + "|" + u.str());
      views.push_back(std::to_string(n));
    }
  }
  co_await eval(script::reviewers, std::move(views), until);
}

task<outcome> broker_core::subscribe_topics(std::vector<std::string> topics, clock::time_point until) {
  auto sub = sub_;
  if (!sub_ready_ || !sub) co_return outcome::failed;
  auto w = std::make_shared<waiter>(strand_, topics.size());
  for (const auto& t : topics) confirm_[t].push_back(w);
  if (!sub->subscribe(topics)) w->finish(false);
  const auto result = co_await wait_for(w, until);
  if (result == outcome::timed_out) connection_failed(sub.get());
  co_return result;
}

task<redis_reply> broker_core::eval(script which, std::vector<std::string> args, clock::time_point until) {
  auto cmd = cmd_;
  if (!cmd_ready_ || !cmd) throw redis_error("redis broker: not connected");
  const auto i = static_cast<std::size_t>(which);
  std::vector<std::string> argv{"EVALSHA", sha_[i], "0", s_.prefix, s_.node_id};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  try {
    auto r = co_await cmd->command(argv, until);
    if (r.is_error() && r.str.starts_with("NOSCRIPT")) {  // the script cache was flushed
      argv[0] = "EVAL";
      argv[1] = script_source(which);
      r = co_await cmd->command(std::move(argv), until);
    }
    if (r.is_error()) throw std::runtime_error(std::string("redis broker: script ") + script_names[i] + ": " + r.str);
    co_return r;
  } catch (const redis_error&) {
    connection_failed(cmd.get());
    throw;
  }
}

void broker_core::on_push(const redis_push& p) {
  switch (p.kind) {
    case redis_push::type::subscribed: {
      auto it = confirm_.find(p.topic);
      if (it == confirm_.end()) return;
      auto w = std::move(it->second.front());
      it->second.pop_front();
      if (it->second.empty()) confirm_.erase(it);
      if (--w->remaining == 0) w->finish(true);
      return;
    }
    case redis_push::type::unsubscribed:
      return;
    case redis_push::type::message:
      deliver(p.topic, p.payload);
      return;
  }
}

std::string broker_core::topic_of(const broker_event& e) const {
  if (e.kind == broker_event_kind::presence) return presence_topic_;
  if (e.kind == broker_event_kind::notification) return notification_topic_;
  return channel_topic(e.channel);
}

void broker_core::deliver(std::string_view topic, std::string_view payload) {
  if (stop_started_) return;
  // A message may still arrive after unsubscribe() (Redis had not processed it yet).
  if (topic != presence_topic_ && topic != notification_topic_ && !wanted_.contains(topic)) return;
  auto e = detail::decode_event(payload);
  // Each kind has one topic: anything else was not sent by a broker.
  if (!e || topic != topic_of(*e)) {
    metrics::count_dropped(metrics::drop_reason::undecodable);
    log::debug("redis broker: dropped an undecodable message", {{"topic", std::string(topic)}});
    return;
  }
  metrics::count_received();
  call_handler("on_event", handlers_.on_event, *e);
}

bool broker_core::send_event(const broker_event& e) {
  if (!cmd_ready_ || !cmd_ || !cmd_->send({"PUBLISH", topic_of(e), detail::encode_event(e)})) {
    metrics::count_dropped(metrics::drop_reason::disconnected);
    return false;
  }
  metrics::count_published();
  return true;
}

void broker_core::publish(const broker_event& e) {
  if (!stop_started_) send_event(e);
}

void broker_core::announce(const std::string& user, presence_status status) {
  const auto u = user_id::parse(user);
  if (!u) return;
  broker_event e;
  e.kind = broker_event_kind::presence;
  e.actor = *u;
  e.status = status;
  send_event(e);
}

// May run inside a hiredis callback: only flags and a timer.
void broker_core::connection_failed(const redis_connection* which) {
  if (which == nullptr || (which != cmd_.get() && which != sub_.get())) return;  // an old connection
  broken_ = true;
  cmd_ready_ = false;
  sub_ready_ = false;
  set_connected(false);
  wake_.cancel();
}

void broker_core::drop_connections() {
  cmd_ready_ = false;
  sub_ready_ = false;
  set_connected(false);
  if (cmd_) cmd_->close();
  if (sub_) sub_->close();
  cmd_.reset();
  sub_.reset();
  auto waiting = std::move(confirm_);
  confirm_.clear();
  for (auto& [topic, queue] : waiting)
    for (auto& w : queue) w->finish(false);
}

void broker_core::abandon() {
  // As a crash would: no goodbye, the heartbeat lapses and other nodes sweep.
  stop_started_ = true;
  stopping_ = true;
  drop_connections();
  wake_.cancel();
}

task<void> broker_core::stop(std::shared_ptr<broker_core> self) {
  if (!stop_started_) {  // a second call only waits for the first one's end
    co_await goodbye();
    stopping_ = true;
    drop_connections();
    wake_.cancel();
  }
  if (!running_) co_return;
  // The supervisor ends at its next step (its waits were cancelled); a name
  // being resolved may hold it until its deadline.
  auto w = exit_waiters_.emplace_back(std::make_shared<waiter>(strand_, 1));
  if (co_await wait_for(w, clock::now() + 3 * s_.command_timeout) == outcome::timed_out)
    log::warn("redis broker: stopped before its connection attempt ended", {{"node", s_.node_id}});
}

task<void> broker_core::goodbye() {
  stop_started_ = true;  // delivery and publishing end here
  if (auto cmd = cmd_; cmd_ready_ && cmd) {
    try {
      const auto until = deadline();
      for (const auto& u : strings_of(co_await eval(script::withdraw, {}, until)))
        announce(u, presence_status::offline);
      // Replies come in order: once PING answers, the goodbye was processed.
      co_await cmd->command({"PING"}, until);
    } catch (const std::exception& e) {
      log::warn("redis broker: could not withdraw presence", {{"node", s_.node_id}, {"error", e.what()}});
    }
  }
  local_.clear();
  viewers_.clear();
}

task<bool> broker_core::check(std::shared_ptr<broker_core> self) {
  auto cmd = cmd_;
  if (!cmd_ready_ || !cmd) co_return false;
  try {
    const auto r = co_await cmd->command({"PING"}, deadline());
    co_return r.kind == redis_reply::type::status&& r.str == "PONG";
  } catch (const redis_error& e) {
    log::warn("redis broker: check failed", {{"node", s_.node_id}, {"error", e.what()}});
    connection_failed(cmd.get());
  }
  co_return false;
}

task<void> broker_core::subscribe(std::shared_ptr<broker_core> self, channel_id c) {
  if (stop_started_) co_return;
  auto topic = channel_topic(c);
  wanted_.insert(topic);
  // Disconnected: remembered, and subscribed when the connection is back.
  if (sub_ready_) co_await subscribe_topics({std::move(topic)}, deadline());
}

void broker_core::unsubscribe(channel_id c) {
  auto topic = channel_topic(c);
  wanted_.erase(topic);
  if (sub_ready_ && sub_) sub_->unsubscribe({std::move(topic)});
}

task<bool> broker_core::socket_opened(std::shared_ptr<broker_core> self, user_id u) {
  const bool first_here = ++local_[u] == 1;
  if (cmd_ready_) {
    try {
      const auto r = co_await eval(script::opened, {u.str()}, deadline());
      co_return r.integer == 1;
    } catch (const redis_error&) {
      // Lost on the way: the reconnect re-registers local_, which counts this socket.
    }
  }
  co_return first_here;
}

task<bool> broker_core::socket_closed(std::shared_ptr<broker_core> self, user_id u) {
  auto it = local_.find(u);
  if (it == local_.end()) co_return false;
  const bool last_here = --it->second == 0;
  if (last_here) local_.erase(it);
  if (cmd_ready_) {
    try {
      const auto r = co_await eval(script::closed, {u.str()}, deadline());
      co_return r.integer == 1;
    } catch (const redis_error&) {
      // Lost on the way: the reconnect re-registers local_ without this socket.
    }
  }
  co_return last_here;
}

// SET NX with an expiry: the first node to claim wins. Unreachable, this
// node decides alone (remembering its own claims until they expire).
task<bool> broker_core::claim_once(std::shared_ptr<broker_core> self, std::string key, std::chrono::milliseconds ttl) {
  const auto now = clock::now();
  std::erase_if(local_claims_, [&](const auto& kv) { return kv.second <= now; });
  if (!local_claims_.emplace(key, now + ttl).second) co_return false;
  auto cmd = cmd_;
  if (!cmd_ready_ || !cmd) co_return true;
  try {
    const auto r = co_await cmd->command({"SET", s_.prefix + "claim:" + key, s_.node_id, "NX", "PX",
                                          std::to_string(std::max<std::int64_t>(1, ttl.count()))},
                                         deadline());
    co_return r.kind == redis_reply::type::status&& r.str == "OK";
  } catch (const redis_error& e) {
    log::warn("redis broker: claim failed", {{"node", s_.node_id}, {"error", e.what()}});
    connection_failed(cmd.get());
  }
  co_return true;
}

task<std::vector<user_id>> broker_core::online_among(std::shared_ptr<broker_core> self, std::vector<user_id> users) {
  std::unordered_set<std::string> remote;
  if (cmd_ready_ && !users.empty()) {
    std::vector<std::string> args;
    args.reserve(users.size());
    for (const auto& u : users) args.push_back(u.str());
    try {
      for (auto& u : strings_of(co_await eval(script::online, std::move(args), deadline())))
        remote.insert(std::move(u));
    } catch (const redis_error&) {
      // Unreachable: answer with this node's own sockets.
    }
  }
  std::erase_if(users, [&](const user_id& u) { return !local_.contains(u) && !remote.contains(u.str()); });
  co_return users;
}

void broker_core::viewer_added(const channel_id& c, const user_id& u) {
  if (stop_started_) return;  // withdrawn (or being withdrawn) already
  write_viewer(c, u, ++viewers_[c][u]);
}

void broker_core::viewer_removed(const channel_id& c, const user_id& u) {
  if (stop_started_) return;
  auto ch = viewers_.find(c);
  if (ch == viewers_.end()) return;
  auto it = ch->second.find(u);
  if (it == ch->second.end()) return;
  const int n = --it->second;
  if (n <= 0) {
    ch->second.erase(it);
    if (ch->second.empty()) viewers_.erase(ch);
  }
  write_viewer(c, u, std::max(n, 0));
}

// Only this node writes its own fields, so it sets the count it knows rather
// than incrementing: a command lost in an outage cannot skew it, and the
// reconnect's re-registration writes viewers_ as it is then. Fire and forget
// (pipelined in order behind the commands before it): never waits.
void broker_core::write_viewer(const channel_id& c, const user_id& u, int count) {
  auto cmd = cmd_;
  if (!cmd_ready_ || !cmd) return;
  const auto hash = s_.prefix + "viewers:" + c.str();
  const auto field = s_.node_id + "|" + u.str();
  const auto member = c.str() + "|" + u.str();
  // The index entry exists whenever the field does, so withdraw() finds every field.
  if (count > 0) {
    if (count == 1) cmd->send({"SADD", s_.prefix + "nodes", s_.node_id});
    cmd->send({"SADD", views_key_, member});
    cmd->send({"HSET", hash, field, std::to_string(count)});
  } else {
    cmd->send({"HDEL", hash, field});
    cmd->send({"SREM", views_key_, member});
  }
}

task<std::vector<user_id>> broker_core::viewing_among(std::shared_ptr<broker_core> self, channel_id c,
                                                      std::vector<user_id> users) {
  std::unordered_set<std::string> remote;
  if (cmd_ready_ && !users.empty()) {
    std::vector<std::string> args;
    args.reserve(users.size() + 1);
    args.push_back(c.str());
    for (const auto& u : users) args.push_back(u.str());
    try {
      for (auto& u : strings_of(co_await eval(script::viewing, std::move(args), deadline())))
        remote.insert(std::move(u));
    } catch (const redis_error&) {
      // Unreachable: answer with this node's own sockets.
    }
  }
  // Looked up after the round trip: viewers_ may have changed meanwhile.
  const auto here = viewers_.find(c);
  std::erase_if(users, [&](const user_id& u) {
    return (here == viewers_.end() || !here->second.contains(u)) && !remote.contains(u.str());
  });
  co_return users;
}

// The port, forwarding every call to the core's strand.
class redis_broker final : public domain::broker {
 public:
  redis_broker(const asio::any_io_executor& ex, redis_settings s, redis_endpoint ep)
      : core_(std::make_shared<broker_core>(ex, std::move(s), std::move(ep))) {}
  ~redis_broker() override {
    asio::post(core_->strand(), [core = core_] { core->abandon(); });
  }
  redis_broker(const redis_broker&) = delete;
  redis_broker& operator=(const redis_broker&) = delete;

  void start(domain::broker_handlers h) override {
    asio::post(core_->strand(), [core = core_, h = std::move(h)]() mutable { core->begin(std::move(h)); });
  }
  task<void> stop() override { return on_strand(core_->stop(core_)); }
  std::string_view name() const noexcept override { return "redis"; }
  bool connected() const noexcept override { return core_->connected(); }
  task<bool> check() override { return on_strand(core_->check(core_)); }
  task<void> subscribe(channel_id c) override { return on_strand(core_->subscribe(core_, c)); }
  void unsubscribe(channel_id c) override {
    asio::post(core_->strand(), [core = core_, c] { core->unsubscribe(c); });
  }
  void publish(broker_event e) override {
    asio::post(core_->strand(), [core = core_, e = std::move(e)] { core->publish(e); });
  }
  task<bool> socket_opened(user_id u) override { return on_strand(core_->socket_opened(core_, u)); }
  task<bool> socket_closed(user_id u) override { return on_strand(core_->socket_closed(core_, u)); }
  task<std::vector<user_id>> online_among(std::vector<user_id> users) override {
    return on_strand(core_->online_among(core_, std::move(users)));
  }
  void viewer_added(channel_id c, user_id u) override {
    asio::post(core_->strand(), [core = core_, c, u] { core->viewer_added(c, u); });
  }
  void viewer_removed(channel_id c, user_id u) override {
    asio::post(core_->strand(), [core = core_, c, u] { core->viewer_removed(c, u); });
  }
  task<std::vector<user_id>> viewing_among(channel_id c, std::vector<user_id> users) override {
    return on_strand(core_->viewing_among(core_, c, std::move(users)));
  }
  task<bool> claim_once(std::string key, std::chrono::milliseconds ttl) override {
    return on_strand(core_->claim_once(core_, std::move(key), ttl));
  }

 private:
  // Runs `t` on the core's strand; the caller resumes on its own executor.
  template <typename T>
  task<T> on_strand(task<T> t) {
    return asio::co_spawn(core_->strand(), std::move(t), asio::use_awaitable);
  }

  std::shared_ptr<broker_core> core_;
};

}  // namespace

// NOLINTNEXTLINE(performance-unnecessary-value-param): the factory's signature takes executors by value, as Asio does
std::unique_ptr<domain::broker> open_redis_broker(asio::any_io_executor ex, redis_settings s) {
  metrics::register_metrics();
  auto ep = parse_redis_url(s.url);
  using ms = std::chrono::milliseconds;
  if (s.heartbeat_interval <= ms::zero() || s.heartbeat_ttl <= ms::zero() || s.command_timeout <= ms::zero() ||
      s.reconnect_min <= ms::zero() || s.reconnect_max <= ms::zero())
    throw std::invalid_argument("redis broker: durations must be positive");
  if (s.heartbeat_ttl <= s.heartbeat_interval)
    throw std::invalid_argument("redis broker: heartbeat_ttl must exceed heartbeat_interval");
  if (s.reconnect_max < s.reconnect_min)
    throw std::invalid_argument("redis broker: reconnect_max must not be below reconnect_min");
  if (s.node_id.empty()) s.node_id = uuid::v7().str();
  return std::make_unique<redis_broker>(ex, std::move(s), std::move(ep));
}

}  // namespace sl::broker::redis
