#include "domain/auth_service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/random.hpp"
#include "domain/texts.hpp"

namespace sl::domain {

namespace {
// A ticket is a signed token whose jti is `wst.<nonce>.<session jti>`: any
// node can verify it without shared state, and it names the session it was
// issued from, so revoking that session voids it too.
constexpr std::string_view ticket_prefix = "wst.";
}  // namespace

auth_service::auth_service(store& db, password_hasher& hasher, const token_codec& tokens, const clock& clk,
                           auth_settings s)
    : db_(db), hasher_(hasher), tokens_(tokens), clock_(clk), s_(s), throttle_(s.throttle) {
  // The first refresh loads every revocation a live token could still need.
  last_poll_ = clock_.now() - s_.token_ttl - std::chrono::minutes(1);
}

task<result<user>> auth_service::register_user(registration r) {
  // Cheap uniqueness checks first so that a duplicate costs no hashing; the
  // store's constraints still decide races.
  if (co_await db_.find_user_by_username(r.username)) co_return fail(error_kind::bad_request, text::username_taken);
  if (auto existing = co_await db_.find_login(r.email); existing && existing->u.email == r.email)
    co_return fail(error_kind::bad_request, text::email_taken);
  auto hashed = co_await hasher_.hash(std::move(r.password));
  co_return co_await db_.create_user(new_user{user_id::generate(), std::move(r.username), std::move(r.email),
                                              std::move(hashed), std::move(r.full_name), clock_.now()});
}

task<result<issued_token>> auth_service::login(std::string username, std::string password, std::string address,
                                               std::string user_agent) {
  const auto now = clock_.now();
  if (throttle_.blocked(username, address, now)) co_return fail(error_kind::rate_limited, text::too_many_logins);
  auto found = co_await db_.find_login(username);
  // Unknown users cost a real verification too, so timing does not reveal them.
  const auto against = found ? found->hashed_password : co_await decoy_hash();
  const bool good = co_await hasher_.verify(against, std::move(password)) && found;
  if (!good) {
    throttle_.failed(username, address, clock_.now());
    co_return fail(error_kind::unauthorized, text::wrong_password);
  }
  if (!found->u.is_active) co_return fail(error_kind::forbidden, text::inactive_user);
  throttle_.succeeded(username);
  token_claims c{found->u.id, found->u.username, now, now + s_.token_ttl, random_token(16)};
  co_await db_.create_session(session{c.jti, c.sub, c.expires_at, now, std::move(user_agent), std::move(address)});
  co_return issued_token{tokens_.encode(c), s_.token_ttl.count()};
}

task<std::string> auth_service::decoy_hash() {
  {
    std::lock_guard lock(mu_);
    if (!decoy_.empty()) co_return decoy_;
  }
  auto h = co_await hasher_.hash(random_hex(16));
  std::lock_guard lock(mu_);
  if (decoy_.empty()) decoy_ = std::move(h);
  co_return decoy_;
}

task<void> auth_service::logout(const principal& p) {
  const auto now = clock_.now();
  {
    std::lock_guard lock(mu_);
    revoked_.emplace(p.jti, now);
  }
  co_await db_.revoke_session(p.jti, now);
}

bool auth_service::is_revoked(const std::string& jti) {
  std::lock_guard lock(mu_);
  return revoked_.contains(jti);
}

task<std::optional<user>> auth_service::cached_user(const user_id& id) {
  namespace asio = boost::asio;
  const auto now = clock_.now();
  std::shared_ptr<fetch> joined;
  std::optional<asio::steady_timer> wake;
  {
    std::lock_guard lock(mu_);
    if (auto it = users_.find(id); it != users_.end() && it->second.fetched_at + s_.user_cache_ttl > now)
      co_return it->second.u;
    if (auto it = fetching_.find(id); it != fetching_.end()) {
      // Someone is reading this user: wait for their answer. The wake-up is
      // posted to our own executor, so it cannot run before we wait.
      joined = it->second;
      auto ex = co_await asio::this_coro::executor;
      wake.emplace(ex, asio::steady_timer::time_point::max());
      joined->waiters.push_back([ex, t = &*wake] { asio::post(ex, [t] { t->cancel(); }); });
    } else {
      fetching_.emplace(id, std::make_shared<fetch>());
    }
  }
  if (joined) {
    boost::system::error_code ignored;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (joined->error) std::rethrow_exception(joined->error);
    co_return joined->result;
  }
  user_fetches_.fetch_add(1, std::memory_order_relaxed);
  std::optional<user> u;
  std::exception_ptr error;
  try {
    u = co_await db_.find_user(id);
  } catch (...) {
    error = std::current_exception();
  }
  std::vector<std::function<void()>> waiters;
  {
    std::lock_guard lock(mu_);
    auto f = fetching_.at(id);
    fetching_.erase(id);
    f->result = u;
    f->error = error;
    waiters.swap(f->waiters);
    if (!error && u)
      users_.insert_or_assign(id, cached{*u, now});
    else if (!error)
      users_.erase(id);
  }
  for (auto& w : waiters) w();
  if (error) std::rethrow_exception(error);
  co_return u;
}

task<result<principal>> auth_service::authenticate(std::string_view bearer_token) {
  const auto now = clock_.now();
  auto claims = tokens_.decode(bearer_token, now);
  if (!claims || claims->jti.starts_with(ticket_prefix))
    co_return fail(error_kind::unauthorized, text::bad_credentials);
  if (is_revoked(claims->jti)) co_return fail(error_kind::unauthorized, text::bad_credentials);
  auto u = co_await cached_user(claims->sub);
  if (!u) co_return fail(error_kind::unauthorized, text::bad_credentials);
  if (!u->is_active) co_return fail(error_kind::forbidden, text::inactive_user);
  bool touch = false;
  {
    std::lock_guard lock(mu_);
    auto& last = last_seen_written_[u->id];
    if (last + s_.last_seen_interval <= now) {
      last = now;
      touch = true;
    }
  }
  if (touch) co_await db_.touch_last_seen(u->id, now);
  co_return principal{u->id, u->username, claims->jti, claims->expires_at};
}

task<result<user>> auth_service::current_user(const principal& p) {
  auto u = co_await db_.find_user(p.id);
  if (!u) co_return fail(error_kind::unauthorized, text::bad_credentials);
  co_return *u;
}

ws_ticket auth_service::issue_ticket(const principal& p) {
  const auto now = clock_.now();
  token_claims c{p.id, p.username, now, now + s_.ticket_ttl,
                 std::string(ticket_prefix) + random_token(12) + "." + p.jti};
  return ws_ticket{tokens_.encode(c), s_.ticket_ttl.count()};
}

std::optional<ticket_grant> auth_service::check_ticket(std::string_view ticket) {
  const auto now = clock_.now();
  auto claims = tokens_.decode(ticket, now);
  if (!claims || !claims->jti.starts_with(ticket_prefix)) return std::nullopt;
  const auto rest = std::string_view(claims->jti).substr(ticket_prefix.size());
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string session_jti(rest.substr(dot + 1));
  if (is_revoked(session_jti)) return std::nullopt;
  return ticket_grant{principal{claims->sub, claims->username, std::move(session_jti), now + s_.token_ttl}, claims->jti,
                      claims->expires_at};
}

task<void> auth_service::refresh_revocations() {
  const auto now = clock_.now();
  timestamp since;
  {
    std::lock_guard lock(mu_);
    // Overlap the previous poll so that a revocation committed during it is not missed.
    since = last_poll_ - std::chrono::seconds(5);
  }
  auto fresh = co_await db_.revoked_since(since);
  std::lock_guard lock(mu_);
  for (auto& r : fresh) revoked_.emplace(std::move(r.jti), r.revoked_at);
  // A token outlives its session's revocation by at most its lifetime.
  std::erase_if(revoked_, [&](auto& kv) { return kv.second + s_.token_ttl + std::chrono::minutes(1) < now; });
  last_poll_ = now;
}

void auth_service::forget_user(const user_id& id) {
  std::lock_guard lock(mu_);
  users_.erase(id);
}

}  // namespace sl::domain
