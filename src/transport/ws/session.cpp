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
#include <deque>
#include <unordered_set>

#include "base/log.hpp"
#include "domain/permissions.hpp"
#include "domain/texts.hpp"
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

using never_timer = asio::steady_timer;
void arm(never_timer& t) { t.expires_at(never_timer::time_point::max()); }

}  // namespace

struct session::impl {
  impl(beast::tcp_stream s)
      : ws(std::move(s)),
        wake(ws.get_executor(), never_timer::time_point::max()),
        drained(ws.get_executor(), never_timer::time_point::max()),
        kill(ws.get_executor()) {}

  websocket::stream<corked_stream> ws;
  never_timer wake;     // cancelled when there is something for the writer
  never_timer drained;  // cancelled after every write
  asio::steady_timer kill;
  std::deque<frame_ptr> queue;
  std::size_t queued_bytes = 0;  // queued plus being written
  std::optional<std::pair<std::uint16_t, std::string>> close_request;
  bool finished = false;  // the read loop ended: the writer stops
  bool writer_done = false;
  std::unordered_set<channel_id, uuid_hash> channels;
  int rate_limited_in_a_row = 0;
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

task<void> session::run(http::beast_request req) {
  auto& m = *impl_;
  const auto& st = sv_.settings;
  m.ws.set_option(websocket::stream_base::timeout{st.handshake_timeout, st.idle_timeout, true});
  m.ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(beast::http::field::server, "signalink"); }));
  m.ws.read_message_max(st.max_frame_bytes);
  m.ws.auto_fragment(false);
  m.ws.text(true);
  {
    auto [ec] = co_await m.ws.async_accept(req, use_tuple);
    if (ec) {
      m.finished = true;
      co_return;
    }
  }
  asio::co_spawn(m.ws.get_executor(), write_loop(shared_from_this()), asio::detached);

  beast::flat_buffer buf;
  for (;;) {
    buf.clear();
    auto [ec, n] = co_await m.ws.async_read(buf, use_tuple);
    if (ec) {
      if (ec == websocket::error::message_too_big) metrics::closes(1009).Increment();
      break;
    }
    metrics::frames_received().Increment();
    if (closed()) continue;  // closing: the peer's frames no longer matter
    if (m.ws.got_binary()) {
      close(1003, "binary frames are not supported");
      continue;
    }
    co_await handle(beast::buffers_to_string(buf.data()));
  }
  m.finished = true;
  m.queue.clear();
  m.wake.cancel();
  m.drained.cancel();
  m.kill.cancel();
}

void session::send(const frame_ptr& f) {
  auto& m = *impl_;
  if (closed()) return;
  m.queue.push_back(f);
  m.queued_bytes += f->size();
  if (m.queued_bytes > sv_.settings.send_queue_bytes) return close(4008, "slow consumer");
  if (m.queue.size() == 1) m.wake.cancel();
}

void session::removed(const channel_id& c, const frame_ptr& f) {
  impl_->channels.erase(c);
  send(f);
}

void session::close(std::uint16_t code, std::string reason) {
  auto& m = *impl_;
  if (closed()) return;
  if (code == 4008) {
    for (const auto& f : m.queue) m.queued_bytes -= f->size();
    m.queue.clear();
  }
  m.close_request.emplace(code, std::move(reason));
  metrics::closes(code).Increment();
  m.wake.cancel();
  m.drained.cancel();
  // A peer that neither reads nor answers the close is dropped.
  m.kill.expires_after(sv_.settings.close_timeout + sv_.settings.handshake_timeout);
  m.kill.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec) return;
    beast::error_code ignored;
    beast::get_lowest_layer(self->impl_->ws).socket().close(ignored);
  });
}

task<void> session::write_loop(std::shared_ptr<session> self) {
  auto& m = *self->impl_;
  const auto max_batch = self->sv_.settings.max_batch_bytes;
  while (!m.finished) {
    if (m.queue.empty()) {
      if (m.close_request) {
        co_await m.ws.async_close(websocket::close_reason(static_cast<websocket::close_code>(m.close_request->first),
                                                          m.close_request->second),
                                  use_tuple);
        break;
      }
      co_await m.wake.async_wait(use_tuple);
      arm(m.wake);
      continue;
    }
    auto& layer = m.ws.next_layer();
    layer.cork();
    std::size_t batch = 0;
    std::size_t frames = 0;
    beast::error_code ec;
    while (!m.queue.empty() && batch < max_batch && !ec) {
      auto f = std::move(m.queue.front());
      m.queue.pop_front();
      batch += f->size();
      ++frames;
      std::tie(ec, std::ignore) = co_await m.ws.async_write(asio::buffer(*f), use_tuple);
    }
    layer.uncork();
    if (!ec) std::tie(ec) = co_await layer.flushed(use_tuple);
    m.queued_bytes -= std::min(batch, m.queued_bytes);
    metrics::frames_sent().Increment(static_cast<double>(frames));
    metrics::bytes_sent().Increment(static_cast<double>(batch));
    m.drained.cancel();
    if (ec) break;
  }
  m.writer_done = true;
  m.drained.cancel();
}

task<void> session::writable() {
  auto& m = *impl_;
  while (!closed() && m.queued_bytes > sv_.settings.send_queue_bytes / 2) {
    co_await m.drained.async_wait(use_tuple);
    arm(m.drained);
  }
}

void session::error(const frame_error& e) { send(make_frame(error_frame(sv_.clk.now(), e))); }

task<void> session::handle(std::string text) {
  auto parsed = parse_client_frame(text);
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
      co_await send_message(std::move(r));
      break;
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
  hub_.add(shared_from_this(), c, last, replaying, r.presence);
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

task<void> session::send_message(client_request r) {
  auto& m = *impl_;
  auto client_msg_id = r.draft.client_msg_id;
  auto sent = co_await sv_.messages.send(who_, std::move(r.draft));
  if (!sent) {
    error(to_frame_error(sent.err(), client_msg_id));
    if (sent.err().kind == error_kind::rate_limited && ++m.rate_limited_in_a_row >= sv_.settings.rate_limit_close_after)
      close(4029, "rate limit exceeded");
    co_return;
  }
  m.rate_limited_in_a_row = 0;
  send(make_frame(ack_frame(sv_.clk.now(), client_msg_id, sent->msg)));
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
