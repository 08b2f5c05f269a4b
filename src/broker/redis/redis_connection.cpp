#include "broker/redis/redis_connection.hpp"

#include <hiredis/async.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "base/log.hpp"
#include "broker/redis/detail/asio_events.hpp"

namespace sl::broker::redis {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace

// One command's reply: the hiredis callback fills it and cancels the timer the
// command waits on (which doubles as its deadline).
struct redis_connection::pending {
  explicit pending(const asio::any_io_executor& ex) : signal(ex) {}
  asio::steady_timer signal;
  std::optional<redis_reply> reply;
  bool done = false;
};

redis_reply redis_reply::from(const redisReply& r) {
  redis_reply out;
  switch (r.type) {
    case REDIS_REPLY_INTEGER:
      out.kind = type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.kind = r.type == REDIS_REPLY_STRING   ? type::string
                 : r.type == REDIS_REPLY_STATUS ? type::status
                                                : type::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ARRAY:
      out.kind = type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(from(*r.element[i]));
      break;
    default:
      out.kind = type::nil;
  }
  return out;
}

void redis_connection::context_deleter::operator()(redisAsyncContext* ac) const noexcept { redisAsyncFree(ac); }

task<std::string> redis_connection::resolve_host(std::string host, clock::time_point deadline) {
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(host, ec);
  if (!ec) co_return literal.to_string();
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  asio::steady_timer timer(ex, deadline);
  auto r = co_await (resolver.async_resolve(host, "", use_tuple) || timer.async_wait(use_tuple));
  if (r.index() == 1) throw redis_error("redis: resolving " + host + ": timed out");
  auto [rec, results] = std::get<0>(std::move(r));
  if (rec || results.empty()) throw redis_error("redis: resolving " + host + ": " + rec.message());
  co_return results.begin()->endpoint().address().to_string();
}

redis_connection::redis_connection(const asio::any_io_executor& strand, std::string name)
    : strand_(strand), name_(std::move(name)) {}

redis_connection::~redis_connection() { close(); }

std::shared_ptr<redis_connection> redis_connection::open(const asio::any_io_executor& strand,
                                                         const std::string& address, std::uint16_t port,
                                                         std::string name) {
  std::shared_ptr<redis_connection> c(new redis_connection(strand, std::move(name)));
  redisAsyncContext* ac = redisAsyncConnect(address.c_str(), port);
  if (ac == nullptr) throw redis_error(c->name_ + ": connect: out of memory");
  c->ctx_.reset(ac);
  if (ac->err != 0) {
    c->error_ = ac->errstr;
    c->broken_ = true;
    throw redis_error(c->describe("connect"));
  }
  ac->data = c.get();
  // The context lives no longer than this object: close() frees it first.
  detail::attach_asio_events(ac, strand, [raw = c.get()](const redisAsyncContext& gone) { raw->context_gone(gone); });
  return c;
}

void redis_connection::close() noexcept {
  if (!ctx_) return;
  closing_ = true;
  broken_ = true;
  if (error_.empty()) error_ = "closed";
  // redisAsyncFree runs the pending callbacks (null replies), then the cleanup hook.
  ctx_.reset();
}

void redis_connection::context_gone(const redisAsyncContext& ac) {
  broken_ = true;
  if (error_.empty()) error_ = ac.errstr != nullptr && ac.err != 0 ? ac.errstr : "connection closed";
  if (closing_) return;
  // hiredis frees the context itself after this returns.
  (void)ctx_.release();
  log::warn("redis connection lost", {{"connection", name_}, {"error", error_}});
  if (auto fn = std::move(on_lost_)) fn();
}

std::string redis_connection::describe(std::string_view what) const {
  std::string s = name_ + ": " + std::string(what);
  if (!error_.empty()) s += ": " + error_;
  return s;
}

bool redis_connection::submit(const std::vector<std::string_view>& args, void (*fn)(redisAsyncContext*, void*, void*),
                              void* privdata) {
  if (broken()) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return redisAsyncCommandArgv(ctx_.get(), fn, privdata, static_cast<int>(argv.size()), argv.data(), lens.data()) ==
         REDIS_OK;
}

void redis_connection::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<std::shared_ptr<pending>> holder(static_cast<std::shared_ptr<pending>*>(privdata));
  auto& p = **holder;
  p.done = true;
  if (reply != nullptr) p.reply = redis_reply::from(*static_cast<const redisReply*>(reply));
  p.signal.cancel();  // resumes the command later, never from inside hiredis
}

task<redis_reply> redis_connection::command(std::vector<std::string> args, clock::time_point deadline) {
  auto self = shared_from_this();  // the owner may let go while this waits
  if (broken()) throw redis_error(describe("not connected"));
  auto p = std::make_shared<pending>(strand_);
  auto holder = std::make_unique<std::shared_ptr<pending>>(p);
  if (!submit(std::vector<std::string_view>(args.begin(), args.end()), &on_reply, holder.get()))
    throw redis_error(describe("cannot send " + args.front()));
  (void)holder.release();  // hiredis calls on_reply exactly once (a null reply when the context goes)
  if (!p->done) {
    p->signal.expires_at(deadline);
    co_await p->signal.async_wait(use_tuple);
  }
  if (!p->done) {
    broken_ = true;
    if (error_.empty()) error_ = "timed out";
    throw redis_error(name_ + ": " + args.front() + ": timed out");
  }
  if (!p->reply) throw redis_error(describe(args.front()));
  co_return std::move(*p->reply);
}

bool redis_connection::send(std::initializer_list<std::string_view> args) {
  return submit(std::vector<std::string_view>(args), nullptr, nullptr);
}

task<void> redis_connection::handshake(const redis_endpoint& ep, clock::time_point deadline) {
  auto self = shared_from_this();
  if (!ep.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!ep.user.empty()) auth.push_back(ep.user);
    auth.push_back(ep.password);
    auto r = co_await command(std::move(auth), deadline);
    if (r.is_error()) throw redis_error(name_ + ": AUTH refused: " + r.str);
  }
  if (ep.db != 0) {
    auto r = co_await command({"SELECT", std::to_string(ep.db)}, deadline);
    if (r.is_error()) throw redis_error(name_ + ": SELECT " + std::to_string(ep.db) + ": " + r.str);
  }
  auto r = co_await command({"PING"}, deadline);
  if (r.kind != redis_reply::type::status || r.str != "PONG")
    throw redis_error(name_ + ": PING: unexpected reply " + (r.str.empty() ? "(empty)" : r.str));
}

void redis_connection::on_pubsub(redisAsyncContext*, void* reply, void* privdata) {
  auto* self = static_cast<redis_connection*>(privdata);
  const auto* r = static_cast<const redisReply*>(reply);
  if (r == nullptr || self->closing_ || !self->on_push_) return;
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
  const auto* kind = r->element[0];
  const auto* topic = r->element[1];
  if (kind->type != REDIS_REPLY_STRING || topic->type != REDIS_REPLY_STRING) return;
  const std::string_view k(kind->str, kind->len);
  redis_push push;
  push.topic = std::string_view(topic->str, topic->len);
  if (k == "message") {
    const auto* payload = r->element[2];
    if (payload->type != REDIS_REPLY_STRING) return;
    push.kind = redis_push::type::message;
    push.payload = std::string_view(payload->str, payload->len);
  } else if (k == "subscribe") {
    push.kind = redis_push::type::subscribed;
  } else if (k == "unsubscribe") {
    push.kind = redis_push::type::unsubscribed;
  } else {
    return;
  }
  self->on_push_(push);
}

bool redis_connection::subscribe(const std::vector<std::string>& topics) {
  std::vector<std::string_view> args{"SUBSCRIBE"};
  args.insert(args.end(), topics.begin(), topics.end());
  return submit(std::move(args), &on_pubsub, this);
}

bool redis_connection::unsubscribe(const std::vector<std::string>& topics) {
  std::vector<std::string_view> args{"UNSUBSCRIBE"};
  args.insert(args.end(), topics.begin(), topics.end());
  return submit(std::move(args), &on_pubsub, this);
}

}  // namespace sl::broker::redis
