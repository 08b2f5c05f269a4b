#pragma once
// redis_connection: one hiredis 0.14 asynchronous connection driven on an Asio
// strand (detail/asio_events.hpp feeds hiredis its socket's readiness). Used
// for commands (command(), send()) or, once subscribe() was called, as a
// pub/sub connection whose pushes go to the push handler.
//
// Threading: every member is called on the strand given to open(), and every
// callback runs on it (from inside hiredis: callbacks must not destroy the
// connection; they record and return).
// Failure: hiredis frees its context by itself when the socket fails or
// closes; then broken() is true, pending commands throw redis_error, and the
// lost handler is called once. A command that outlives its deadline throws
// redis_error and marks the connection broken (the owner replaces it).
// Error replies are values (redis_reply::type::error), not exceptions.
// Lifetime: shared; a command in progress holds the connection. close() (or
// the last owner's release) frees the context: call it on the strand, never
// from inside one of the connection's callbacks; pending commands then throw.
//
// Name resolution: open() takes an address; resolve_host() resolves a name
// with Asio's resolver first (hiredis 0.14 would resolve it synchronously).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/task.hpp"
#include "broker/redis/redis_url.hpp"

struct redisAsyncContext;
struct redisReply;

namespace sl::broker::redis {

// The connection failed, timed out or is gone.
class redis_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A reply, copied out of hiredis.
struct redis_reply {
  enum class type { nil, integer, string, status, error, array };
  type kind = type::nil;
  std::int64_t integer = 0;
  std::string str;  // string, status and error replies
  std::vector<redis_reply> elements;

  bool is_error() const noexcept { return kind == type::error; }
  static redis_reply from(const redisReply& r);
};

// A pub/sub push on a subscribed connection.
struct redis_push {
  enum class type { message, subscribed, unsubscribed };
  type kind = type::message;
  std::string_view topic;
  std::string_view payload;  // message only
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
 public:
  using clock = std::chrono::steady_clock;
  using push_handler = std::function<void(const redis_push&)>;

  // Resolves `host` (a name or an address) to an address, by deadline.
  static task<std::string> resolve_host(std::string host, clock::time_point deadline);

  // Starts connecting to `address`:`port` (non-blocking; nothing is sent yet).
  // Throws redis_error when hiredis refuses at once. `name` tags log lines.
  static std::shared_ptr<redis_connection> open(const boost::asio::any_io_executor& strand, const std::string& address,
                                                std::uint16_t port, std::string name);

  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  // Frees the hiredis context now (pending commands throw redis_error; the
  // lost handler is not called). Idempotent.
  void close() noexcept;

  // Authenticates, selects the database and PINGs: the connection is usable
  // when this returns. Throws redis_error (refused, wrong password, timeout).
  task<void> handshake(const redis_endpoint& ep, clock::time_point deadline);

  // Sends one command and returns its reply. Throws redis_error when the
  // connection is or becomes broken, or at the deadline (then broken()).
  task<redis_reply> command(std::vector<std::string> args, clock::time_point deadline);
  // Sends one command without waiting for its reply (queued in order with the
  // others). False when the connection is broken.
  bool send(std::initializer_list<std::string_view> args);

  // Pub/sub. subscribe() turns the connection into a subscriber: afterwards
  // only (UN)SUBSCRIBE may be sent. Confirmations and messages arrive at the
  // push handler. False when the connection is broken.
  void on_push(push_handler h) { on_push_ = std::move(h); }
  bool subscribe(const std::vector<std::string>& topics);
  bool unsubscribe(const std::vector<std::string>& topics);

  // Called once when hiredis drops the connection by itself (not on destruction).
  void on_lost(std::function<void()> h) { on_lost_ = std::move(h); }

  bool broken() const noexcept { return broken_ || ctx_ == nullptr; }
  // Why it broke, when it did ("" otherwise).
  const std::string& error() const noexcept { return error_; }
  const std::string& name() const noexcept { return name_; }
  // "<name>: <what>[: <why it broke>]", for exceptions and logs.
  std::string describe(std::string_view what) const;

 private:
  struct context_deleter {
    void operator()(redisAsyncContext* ac) const noexcept;
  };
  struct pending;

  redis_connection(const boost::asio::any_io_executor& strand, std::string name);
  bool submit(const std::vector<std::string_view>& args, void (*fn)(redisAsyncContext*, void*, void*), void* privdata);
  void context_gone(const redisAsyncContext& ac);
  static void on_reply(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_pubsub(redisAsyncContext* ac, void* reply, void* privdata);

  boost::asio::any_io_executor strand_;
  std::string name_;
  std::unique_ptr<redisAsyncContext, context_deleter> ctx_;
  push_handler on_push_;
  std::function<void()> on_lost_;
  std::string error_;
  bool broken_ = false;
  bool closing_ = false;
};

}  // namespace sl::broker::redis
