#include "transport/ws/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/serialize.hpp>
#include <unordered_set>

#include "base/log.hpp"
#include "base/trace_context.hpp"
#include "domain/permissions.hpp"
#include "domain/texts.hpp"
#include "net/traced_executor.hpp"
#include "transport/ws/corked_stream.hpp"
#include "transport/ws/hub.hpp"
#include "transport/ws/metrics.hpp"

namespace sl::ws {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::int64_t replay_page = 200;
// message.send requests of one socket in flight at once: enough to fill a
// group commit from a single busy client; the reader stops reading beyond it.
constexpr std::size_t max_sends_in_flight = 32;

using never_timer = asio::steady_timer;

// A wake-up for one waiter: a timer that never expires, cancelled by
// notify(). Created on first wait, so a socket that never waits (most) pays
// a pointer, not a timer.
class signal {
 public:
  task<void> wait(const asio::any_io_executor& ex) {
    if (!t_) t_ = std::make_unique<never_timer>(ex, never_timer::time_point::max());
    co_await t_->async_wait(use_tuple);
    t_->expires_at(never_timer::time_point::max());
  }
  void notify() {
    if (t_) t_->cancel();
  }

 private:
  std::unique_ptr<never_timer> t_;
};

// The read buffer of a socket, owning next to nothing while it waits. Beast
// prepares min(1536, max_size() - size()) bytes as soon as a read starts, so
// every idle socket would hold 1.5 KiB for a message that may never come;
// reporting a small max_size while empty makes that first allocation tiny,
// and once a frame is under way Beast sizes the rest from its header.
class read_buffer {
 public:
  using const_buffers_type = beast::flat_buffer::const_buffers_type;
  using mutable_buffers_type = beast::flat_buffer::mutable_buffers_type;
  static constexpr std::size_t idle_prepare = 128;

  std::size_t size() const noexcept { return b_.size(); }
  std::size_t max_size() const noexcept { return b_.size() == 0 ? idle_prepare : b_.max_size(); }
  std::size_t capacity() const noexcept { return b_.capacity(); }
  const_buffers_type data() const noexcept { return b_.data(); }
  mutable_buffers_type prepare(std::size_t n) { return b_.prepare(n); }
  void commit(std::size_t n) noexcept { b_.commit(n); }
  void consume(std::size_t n) noexcept { b_.consume(n); }
  // Empties it; gives the memory back after a large message.
  void reset() {
    b_.clear();
    if (b_.capacity() > 512) b_.shrink_to_fit();
  }

 private:
  beast::flat_buffer b_;
};

}  // namespace

struct session::pending_send {
  frame_ptr answer;  // the ack or error frame, once done
};

struct session::impl {
  // A bare socket under the cork: Beast's tcp_stream adds two timers and a
  // shared state per connection that the websocket's own timeout makes
  // redundant.
  impl(beast::tcp_stream s) : ws(s.release_socket()) {}

  websocket::stream<corked_stream, false> ws;    // no permessage-deflate: none of its state
  trace_context trace = trace_context::fresh();  // the upgrade's span; each frame is a child
  signal drained;                                // after every write
  signal sends_done;                             // whenever a message.send completes
  std::unique_ptr<asio::steady_timer> kill;      // armed by close()
  // Frames waiting for the writer: queue[head...]. A vector, not a deque: an
  // empty deque still holds ~600 bytes, and most sockets are idle.
  std::vector<frame_ptr> queue;
  std::size_t head = 0;
  std::size_t queued_bytes = 0;  // in `queue`
  std::optional<std::pair<std::uint16_t, std::string>> close_request;
  bool finished = false;                        // the read loop ended: the writer stops
  bool open = false;                            // the handshake is done: frames may be written
  std::chrono::steady_clock::time_point heard;  // the peer's last frame (data or control)
  bool pinged = false;                          // since then
  bool writer_running = false;                  // write_loop runs: frames queue behind it
  std::unordered_set<channel_id, uuid_hash> channels;
  int rate_limited_in_a_row = 0;
  // message.send requests in flight, oldest first; their answers go out in
  // this order whatever order they complete in.
  std::vector<std::shared_ptr<pending_send>> sends;

  bool queue_empty() const noexcept { return head == queue.size(); }
  // Accepted for this socket and not yet taken by the kernel.
  std::size_t unsent() const noexcept { return queued_bytes + ws.next_layer().buffered(); }
  void clear_queue() noexcept {
    queue.clear();
    head = 0;
    if (queue.capacity() > 64) std::vector<frame_ptr>().swap(queue);
  }
};

session::session(services& sv, hub& h, beast::tcp_stream stream, domain::principal who)
    : sv_(sv), hub_(h), who_(std::move(who)), impl_(std::make_unique<impl>(std::move(stream))) {}

session::~session() = default;

bool session::closed() const noexcept { return impl_->finished || impl_->close_request.has_value(); }

task<void> session::refuse(beast::tcp_stream stream, http::beast_request req, int status, std::string detail) {
  namespace bhttp = beast::http;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), req.version()};
  res.set(bhttp::field::server, "signalink");
  res.set(bhttp::field::content_type, "application/json");
  if (status == 401) res.set(bhttp::field::www_authenticate, "Bearer");
  res.body() = boost::json::serialize(boost::json::object{{"detail", detail}});
  res.keep_alive(false);
  res.prepare_payload();
  metrics::refused_upgrades(status).Increment();
  stream.expires_after(std::chrono::seconds(5));
  co_await bhttp::async_write(stream, res, use_tuple);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

task<void> session::run(http::beast_request request) {
  auto& m = *impl_;
  if (const auto* upgrade_span = current_trace()) m.trace = *upgrade_span;
  // Held only until the handshake is answered: its headers are not needed after.
  auto req = std::make_unique<http::beast_request>(std::move(request));
  const auto& st = sv_.settings;
  // Beast times the handshakes only; idleness is the hub's sweep
  // (idle_check), which saves every socket a timer armed on each read.
  m.ws.set_option(websocket::stream_base::timeout{st.handshake_timeout, websocket::stream_base::none(), false});
  m.ws.control_callback([&m](websocket::frame_type, beast::string_view) {
    m.heard = std::chrono::steady_clock::now();
    m.pinged = false;
  });
  m.ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "signalink"); }));
  m.ws.read_message_max(st.max_frame_bytes);
  m.ws.auto_fragment(false);
  m.ws.text(true);
  {
    auto [ec] = co_await m.ws.async_accept(*req, use_tuple);
    req.reset();
    if (ec) {
      m.finished = true;
      co_return;
    }
  }
  m.open = true;
  m.heard = std::chrono::steady_clock::now();
  if (!m.queue_empty() || m.close_request) start_writer();

  read_buffer buf;
  for (;;) {
    buf.reset();
    auto [ec, n] = co_await m.ws.async_read(buf, use_tuple);
    if (ec) {
      if (ec == websocket::error::message_too_big) metrics::closes(1009).Increment();
      break;
    }
    metrics::frames_received().Increment();
    m.heard = std::chrono::steady_clock::now();
    m.pinged = false;
    if (closed()) continue;  // closing: the peer's frames no longer matter
    if (m.ws.got_binary()) {
      close(1003, "binary frames are not supported");
      continue;
    }
    co_await handle(beast::buffers_to_string(buf.data()));
  }
  m.finished = true;
  m.clear_queue();
  m.drained.notify();
  if (m.kill) m.kill->cancel();
}

void session::send(const frame_ptr& f) {
  auto& m = *impl_;
  if (closed()) return;
  auto& layer = m.ws.next_layer();
  if (m.open && !m.writer_running && m.queue_empty() && layer.buffered() < sv_.settings.max_batch_bytes) {
    // Nothing is waiting: write now instead of waking the writer, which
    // would cost two more trips through the event loop per delivery. The
    // write starts at once and completes later; order is kept because the
    // cork appends behind whatever is still in flight.
    beast::error_code ec;
    layer.cork();
    m.ws.write(asio::buffer(*f), ec);
    layer.uncork();
    metrics::frames_sent().Increment();
    metrics::bytes_sent().Increment(static_cast<double>(f->size()));
    if (!ec && m.unsent() > sv_.settings.send_queue_bytes) close(4008, "slow consumer");
    return;
  }
  m.queue.push_back(f);
  m.queued_bytes += f->size();
  if (m.unsent() > sv_.settings.send_queue_bytes) return close(4008, "slow consumer");
  start_writer();
}

void session::idle_check(std::chrono::steady_clock::time_point now) {
  auto& m = *impl_;
  if (!m.open || m.finished) return;
  const auto silent = now - m.heard;
  const auto limit = sv_.settings.idle_timeout;
  if (silent >= limit) {
    metrics::idle_drops().Increment();
    beast::error_code ignored;
    beast::get_lowest_layer(m.ws).close(ignored);  // the read loop ends
    return;
  }
  if (silent >= limit / 2 && !m.pinged && !closed()) {
    m.pinged = true;
    auto& layer = m.ws.next_layer();
    beast::error_code ec;
    layer.cork();
    m.ws.ping({}, ec);
    layer.uncork();
  }
}

void session::start_writer() {
  auto& m = *impl_;
  if (m.writer_running || !m.open || m.finished) return;
  m.writer_running = true;
  asio::co_spawn(m.ws.get_executor(), write_loop(shared_from_this()), asio::detached);
}

void session::removed(const channel_id& c, const frame_ptr& f) {
  impl_->channels.erase(c);
  send(f);
}

void session::close(std::uint16_t code, std::string reason) {
  auto& m = *impl_;
  if (closed()) return;
  if (code == 4008) {
    metrics::slow_consumer_closes().Increment();
    for (auto i = m.head; i < m.queue.size(); ++i) m.queued_bytes -= m.queue[i]->size();
    m.clear_queue();
  }
  m.close_request.emplace(code, std::move(reason));
  metrics::closes(code).Increment();
  start_writer();
  m.drained.notify();
  // A peer that neither reads nor answers the close is dropped.
  m.kill = std::make_unique<asio::steady_timer>(m.ws.get_executor());
  m.kill->expires_after(sv_.settings.close_timeout + sv_.settings.handshake_timeout);
  m.kill->async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->impl_->ws).close(ignored);
  });
}

task<void> session::write_loop(std::shared_ptr<session> self) {
  auto& m = *self->impl_;
  auto& layer = m.ws.next_layer();
  const auto max_batch = self->sv_.settings.max_batch_bytes;
  while (!m.finished) {
    if (m.queue_empty()) {
      if (m.close_request) {
        co_await m.ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(m.close_request->first),
                                                          m.close_request->second),
                                  use_tuple);
      }
      // Idle: the next frame is written by send() itself, or starts a writer
      // again. An idle socket keeps no writer coroutine.
      break;
    }
    if (layer.buffered() >= max_batch) {
      // The kernel is not taking more: wait for the write in flight rather
      // than copy the whole queue into the cork.
      auto [ec] = co_await layer.flushed(use_tuple);
      if (ec) break;
      continue;
    }
    // Frames go to Beast synchronously while corked: each one is appended to
    // the cork without a trip through the event loop, and the batch leaves in
    // one write. The write in flight, if any, sends it when it completes.
    layer.cork();
    std::size_t frames = 0, bytes = 0;
    beast::error_code ec;
    while (!m.queue_empty() && layer.buffered() < max_batch && !ec) {
      auto f = std::move(m.queue[m.head++]);
      m.queued_bytes -= f->size();
      bytes += f->size();
      ++frames;
      m.ws.write(asio::buffer(*f), ec);
    }
    if (m.queue_empty()) m.clear_queue();
    layer.uncork();
    metrics::frames_sent().Increment(static_cast<double>(frames));
    metrics::bytes_sent().Increment(static_cast<double>(bytes));
    m.drained.notify();
    if (ec) break;
  }
  m.writer_running = false;
  m.drained.notify();
}

task<void> session::writable() {
  auto& m = *impl_;
  auto& layer = m.ws.next_layer();
  while (!closed() && m.unsent() > sv_.settings.send_queue_bytes / 2) {
    if (m.queue_empty()) {
      auto [ec] = co_await layer.flushed(use_tuple);
      if (ec) co_return;
    } else {
      co_await m.drained.wait(m.ws.get_executor());
    }
  }
}

void session::error(const frame_error& e) { send(make_frame(error_frame(sv_.clk.now(), e))); }

task<void> session::handle(std::string text) {
  // Each frame is a span of the connection's trace; a pipelined send keeps its
  // own on the coroutine it runs as.
  const trace_context frame_span = impl_->trace.child();
  begin_span(frame_span);
  if (log::enabled(log::level::debug))
    log::debug("websocket frame", {{"user_id", who_.id.str()}, {"bytes", text.size()}});
  auto parsed = parse_client_frame(text);
  if (auto* r = std::get_if<client_request>(&parsed); r && r->type == request_type::send) {
    // Sends are pipelined: the store group-commits them in the order they
    // start, so the channel's seq order is the socket's send order.
    while (impl_->sends.size() >= max_sends_in_flight && !closed()) co_await sends_settled();
    auto slot = std::make_shared<pending_send>();
    impl_->sends.push_back(slot);
    asio::co_spawn(
        net::traced(impl_->ws.get_executor(), frame_span),
        [self = shared_from_this(), r = std::move(*r), slot]() mutable -> task<void> {
          co_await self->send_message(std::move(r), slot);
        },
        asio::detached);
    co_return;
  }
  // Anything else waits for the sends before it, so answers keep their order.
  while (!impl_->sends.empty() && !closed()) co_await sends_settled();
  if (auto* e = std::get_if<frame_error>(&parsed)) {
    error(*e);
    co_return;
  }
  try {
    co_await dispatch(std::move(std::get<client_request>(parsed)));
  } catch (const std::exception& ex) {
    // The store or broker failed: this request fails, the socket lives on.
    log::error("websocket request failed", {{"error", ex.what()}, {"user_id", who_.id.str()}});
    error(frame_error{"internal", "Internal server error", {}});
  }
}

task<void> session::sends_settled() { co_await impl_->sends_done.wait(impl_->ws.get_executor()); }

task<void> session::dispatch(client_request r) {
  switch (r.type) {
    case request_type::ping:
      send(make_frame(pong_frame(sv_.clk.now())));
      break;
    case request_type::subscribe:
      co_await subscribe(std::move(r));
      break;
    case request_type::unsubscribe:
      co_await unsubscribe(r.channel);
      break;
    case request_type::send:
      break;  // pipelined by handle()
    case request_type::typing_start:
    case request_type::typing_stop:
      co_await typing(r.channel, r.type == request_type::typing_start);
      break;
  }
}

task<void> session::subscribe(client_request r) {
  auto& m = *impl_;
  const auto c = r.channel;
  if (m.channels.erase(c)) hub_.remove(*this, c);  // a new subscribe starts afresh
  if (m.channels.size() >= sv_.settings.max_subscriptions_per_socket) {
    error(frame_error{"invalid",
                      "Too many subscriptions (at most " + std::to_string(sv_.settings.max_subscriptions_per_socket) +
                          " per connection)",
                      {}});
    co_return;
  }
  auto ch = co_await sv_.db.find_channel(c, who_.id);
  if (!ch) co_return error(frame_error{"not_found", std::string(domain::text::channel_not_found), {}});
  if (!domain::permissions::can_read(ch->is_private, ch->viewer_role))
    co_return error(frame_error{"forbidden", std::string(domain::text::private_channel), {}});

  co_await sv_.interests.acquire(c);
  if (closed()) {
    sv_.interests.release(c);
    co_return;
  }
  std::optional<bool> recovered;
  bool replaying = false;
  if (r.since_seq) {
    const auto served = hub_.delivered_through(c, ch->last_seq);
    replaying = *r.since_seq < served && co_await can_replay(c, *r.since_seq, served);
    recovered = *r.since_seq >= served || replaying;
    if (closed()) {
      sv_.interests.release(c);
      co_return;
    }
  }
  // Read after the decision's store round trip: the hub served on meanwhile.
  const auto through = hub_.delivered_through(c, ch->last_seq);
  // Live frames go after `through` (replayed up to it first), or after
  // since_seq for a client that is ahead.
  const auto last = replaying ? through : std::max(through, r.since_seq.value_or(0));
  hub_.add(shared_from_this(), c, last, replaying, r.presence, r.viewing);
  m.channels.insert(c);
  send(make_frame(success_frame(sv_.clk.now(), "Subscribed to channel " + c.str(), c, recovered)));
  if (replaying) {
    co_await replay(c, *r.since_seq, through);
    hub_.end_replay(*this, c);
  }
  if (r.presence && hub_.subscribed(*this, c)) co_await initial_presence(c);
}

task<bool> session::can_replay(const channel_id& c, std::int64_t since, std::int64_t through) {
  const auto& st = sv_.settings;
  const auto missed = through - since;
  if (missed <= st.replay_max_messages) co_return true;
  if (missed > st.replay_hard_limit) co_return false;
  auto first = co_await sv_.db.list_messages(c, domain::history_query{0, 1, std::nullopt, since});
  co_return !first.empty() && first.front().created_at >= sv_.clk.now() - st.replay_max_age;
}

task<void> session::replay(channel_id c, std::int64_t after, std::int64_t through) {
  auto cursor = after;
  while (cursor < through && !closed() && hub_.subscribed(*this, c)) {
    co_await writable();
    if (closed()) co_return;
    auto page = co_await sv_.db.list_messages(c, domain::history_query{0, replay_page, std::nullopt, cursor});
    if (page.empty() || closed()) co_return;
    const auto now = sv_.clk.now();
    for (const auto& msg : page) {
      if (msg.seq > through) co_return;
      send(make_frame(message_frame(now, domain::message_change::created, msg,
                                    msg.author_profile ? msg.author_profile->username : "")));
      cursor = msg.seq;
      metrics::replayed_messages().Increment();
    }
  }
}

task<void> session::initial_presence(channel_id c) {
  auto members = co_await hub_.members(c);
  auto online = co_await sv_.broker.online_among(std::move(members));
  if (closed() || !hub_.subscribed(*this, c)) co_return;
  const auto now = sv_.clk.now();
  for (const auto& u : online) send(make_frame(presence_frame(now, u, domain::presence_status::online)));
}

task<void> session::unsubscribe(const channel_id& c) {
  if (impl_->channels.erase(c)) hub_.remove(*this, c);
  auto frame = success_frame(sv_.clk.now(), "Unsubscribed from channel " + c.str(), c);
  send(make_frame(std::move(frame)));
  co_return;
}

task<void> session::send_message(client_request r, std::shared_ptr<pending_send> slot) {
  auto& m = *impl_;
  auto client_msg_id = r.draft.client_msg_id;
  bool rate_limited = false;
  try {
    auto sent = co_await sv_.messages.send(who_, std::move(r.draft));
    if (sent) {
      slot->answer = make_frame(ack_frame(sv_.clk.now(), client_msg_id, sent->msg));
    } else {
      rate_limited = sent.err().kind == error_kind::rate_limited;
      slot->answer = make_frame(error_frame(sv_.clk.now(), to_frame_error(sent.err(), client_msg_id)));
    }
  } catch (const std::exception& ex) {
    log::error("websocket request failed", {{"error", ex.what()}, {"user_id", who_.id.str()}});
    slot->answer =
        make_frame(error_frame(sv_.clk.now(), frame_error{"internal", "Internal server error", client_msg_id}));
  }
  m.rate_limited_in_a_row = rate_limited ? m.rate_limited_in_a_row + 1 : 0;
  // Answer, in request order, every send that is done.
  while (!m.sends.empty() && m.sends.front()->answer) {
    send(m.sends.front()->answer);
    m.sends.erase(m.sends.begin());
  }
  m.sends_done.notify();
  if (rate_limited && m.rate_limited_in_a_row >= sv_.settings.rate_limit_close_after)
    close(4029, "rate limit exceeded");
}

task<void> session::typing(const channel_id& c, bool on) {
  if (!hub_.subscribed(*this, c)) {
    auto ch = co_await sv_.db.find_channel(c, who_.id);
    if (!ch) co_return error(frame_error{"not_found", std::string(domain::text::channel_not_found), {}});
    if (!domain::permissions::can_read(ch->is_private, ch->viewer_role))
      co_return error(frame_error{"forbidden", std::string(domain::text::private_channel), {}});
  }
  domain::broker_event e;
  e.kind = domain::broker_event_kind::typing;
  e.channel = c;
  e.actor = who_.id;
  e.frame = make_frame(typing_frame(sv_.clk.now(), c, who_.id, who_.username, on));
  sv_.broker.publish(std::move(e));
}

}  // namespace sl::ws
