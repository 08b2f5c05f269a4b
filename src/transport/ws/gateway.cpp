#include "transport/ws/gateway.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/trace_context.hpp"
#include "domain/texts.hpp"
#include "net/traced_executor.hpp"
#include "transport/http/request_io.hpp"
#include "transport/ws/metrics.hpp"
#include "transport/ws/session.hpp"

namespace sl::ws {
namespace {
namespace asio = boost::asio;
}  // namespace

gateway::gateway(net::io_pool& io, domain::store& db, domain::auth_service& auth, domain::message_service& messages,
                 domain::broker& broker, const clock& clk, gateway_settings s)
    : io_(io), settings_(std::move(s)), interests_(broker), sv_{db,  auth,      messages,  broker,
                                                                clk, settings_, interests_} {
  for (std::size_t i = 0; i < io_.size(); ++i)
    hubs_.push_back(std::make_unique<hub>(io_.context(i).get_executor(), sv_));
}

gateway::~gateway() = default;

template <typename Fn>
void gateway::on_every_hub(Fn fn) {
  for (std::size_t i = 0; i < hubs_.size(); ++i) asio::post(io_.context(i), [h = hubs_[i].get(), fn] { fn(*h); });
}

void gateway::start() {
  domain::broker_handlers h;
  h.on_event = [this](const domain::broker_event& e) { on_every_hub([e](hub& hb) { hb.on_event(e); }); };
  h.on_reconnect = [this] {
    log::info("broker reconnected: filling gaps from the store", {{"broker", std::string(sv_.broker.name())}});
    on_every_hub([](hub& hb) { hb.resync(); });
  };
  sv_.broker.start(std::move(h));
  // A quarter of the idle timeout: a silent socket is pinged between 1/2 and
  // 3/4 of it and dropped between 1 and 5/4 of it.
  const auto every = std::max(std::chrono::milliseconds(100),
                              std::chrono::duration_cast<std::chrono::milliseconds>(settings_.idle_timeout) / 4);
  on_every_hub([every](hub& hb) { hb.start_sweep(every); });
}

task<void> gateway::stop(std::chrono::milliseconds grace) {
  on_every_hub([](hub& hb) {
    for (auto& s : hb.sessions()) s->close(1012, "server shutting down");
  });
  asio::steady_timer t(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu_);
      if (connections_ == 0) break;
    }
    t.expires_after(std::chrono::milliseconds(20));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void gateway::check_sessions() {
  on_every_hub([this](hub& hb) {
    const auto now = sv_.clk.now();
    for (auto& s : hb.sessions()) {
      const auto& who = s->who();
      if (sv_.auth.is_revoked(who.jti))
        s->close(4001, "session revoked");
      else if (who.expires_at != timestamp{} && who.expires_at <= now)
        s->close(4001, "token expired");
    }
  });
}

std::size_t gateway::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

gateway_stats gateway::stats() const {
  gateway_stats out;
  {
    std::lock_guard lock(mu_);
    out.connections = connections_;
    out.users.reserve(sockets_.size());
    for (const auto& [u, n] : sockets_) out.users.push_back(u);
  }
  out.channels = interests_.channels();
  return out;
}

task<result<domain::principal>> gateway::authenticate(const http::request& parsed) {
  if (auto ticket = parsed.query_value("ticket")) {
    auto grant = sv_.auth.check_ticket(*ticket);
    if (!grant) co_return fail(error_kind::unauthorized, domain::text::bad_credentials);
    const auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(grant->expires_at - sv_.clk.now());
    if (!co_await sv_.broker.claim_once("ticket:" + grant->id, std::max(ttl, std::chrono::milliseconds(1))))
      co_return fail(error_kind::unauthorized, domain::text::bad_credentials);
    co_return std::move(grant->who);
  }
  std::optional<std::string_view> token = parsed.query_value("token");
  if (!token) token = http::bearer_token(parsed.authorization);
  if (!token || token->empty()) co_return fail(error_kind::unauthorized, domain::text::not_authenticated);
  co_return co_await sv_.auth.authenticate(*token);
}

void gateway::announce(const user_id& u, domain::presence_status s) {
  domain::broker_event e;
  e.kind = domain::broker_event_kind::presence;
  e.actor = u;
  e.status = s;
  sv_.broker.publish(std::move(e));
  if (presence_hook_) presence_hook_(u, s);
}

task<void> gateway::upgrade(boost::beast::tcp_stream stream, http::beast_request req, http::request parsed) {
  // The connection's span; its frames are children of it (session.cpp).
  begin_span(continue_trace(parsed.traceparent));
  if (parsed.path != "/ws") co_return co_await session::refuse(std::move(stream), std::move(req), 404, "Not Found");
  auto who = co_await authenticate(parsed);
  if (!who) {
    const int status = who.err().kind == error_kind::forbidden ? 403 : 401;
    co_return co_await session::refuse(std::move(stream), std::move(req), status, who.err().detail);
  }
  bool admitted = false;
  {
    std::lock_guard lock(mu_);
    auto& n = sockets_[who->id];
    if (n < settings_.max_sockets_per_user) {
      ++n;
      ++connections_;
      admitted = true;
    }
  }
  if (!admitted)
    co_return co_await session::refuse(std::move(stream), std::move(req), 429, "Too many connections for this user");

  auto& h = *hubs_[std::min(io_.current(), hubs_.size() - 1)];
  auto s = std::make_shared<session>(sv_, h, std::move(stream), *who);
  h.attach(s);
  metrics::connections().Increment();
  const auto user = who->id;
  try {
    if (co_await sv_.broker.socket_opened(user)) announce(user, domain::presence_status::online);
  } catch (const std::exception& e) {
    log::warn("presence update failed", {{"error", e.what()}});
  }
  // The session runs as its own coroutine so that this frame (the parsed
  // request, the authentication) is freed: an idle socket keeps only what it
  // needs.
  const trace_context span = current_trace() != nullptr ? *current_trace() : trace_context::fresh();
  asio::co_spawn(net::traced(h.executor(), span), s->run(std::move(req)),
                 [this, s, user, &h](const std::exception_ptr& ep) {
                   if (ep)
                     log::error("websocket session failed", {{"error", log::describe(ep)}, {"user_id", user.str()}});
                   h.detach(*s);
                   asio::co_spawn(h.executor(), closed(user), [](const std::exception_ptr& ep) {
                     if (ep) log::error("websocket close bookkeeping failed", {{"error", log::describe(ep)}});
                   });
                 });
}

task<void> gateway::closed(user_id user) {
  metrics::connections().Decrement();
  {
    std::lock_guard lock(mu_);
    --connections_;
    if (auto it = sockets_.find(user); it != sockets_.end() && --it->second <= 0) sockets_.erase(it);
  }
  try {
    if (co_await sv_.broker.socket_closed(user)) announce(user, domain::presence_status::offline);
  } catch (const std::exception& e) {
    log::warn("presence update failed", {{"error", e.what()}});
  }
}

}  // namespace sl::ws
