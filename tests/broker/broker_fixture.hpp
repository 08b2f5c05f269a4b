#pragma once
// The broker contract fixture: an io_context run by two threads for the whole
// test (brokers call their handlers from it at any time), "nodes" (brokers
// with recorders as handlers) of the parameter's backend, and waits that
// always have a deadline. Redis nodes share a key prefix unique to the test
// and use a short heartbeat (200 ms, TTL 1 s).

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "broker/redis/redis_broker.hpp"
#include "domain/broker.hpp"

namespace sl::test {

using namespace std::chrono_literals;

enum class backend { in_process, redis };

// SIGNALINK_TEST_REDIS_URL, when set and not empty.
std::optional<std::string> redis_test_url();
// Backends to instantiate the Redis suites with: Redis only when configured.
std::vector<backend> redis_if_configured();
std::string backend_name(const testing::TestParamInfo<backend>& info);

// What one node's handlers received. Thread-safe.
class recorder {
 public:
  using events = std::vector<domain::broker_event>;

  void on_event(const domain::broker_event& e);
  void on_reconnect();

  // Waits until `pred` holds for the events received so far, or the timeout
  // passes; returns whether it held.
  bool wait_for(const std::function<bool(const events&)>& pred, std::chrono::milliseconds timeout);
  bool wait_reconnects(int n, std::chrono::milliseconds timeout);
  events snapshot() const;
  int reconnects() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  events events_;
  int reconnects_ = 0;
};

// Handlers that record into `r` (and keep it alive as long as the broker holds them).
domain::broker_handlers handlers_for(const std::shared_ptr<recorder>& r);

// Predicates over recorded events.
std::size_t count_presence(const recorder::events& es, const user_id& u, domain::presence_status s);
std::size_t count_seq(const recorder::events& es, const channel_id& c, std::int64_t seq);

struct node {
  std::unique_ptr<domain::broker> broker;
  std::shared_ptr<recorder> seen = std::make_shared<recorder>();
};

class broker_fixture : public testing::TestWithParam<backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Settings of a Redis node of this test (unique prefix, short heartbeat).
  broker::redis::redis_settings settings(std::string url = {}) const;
  // A started node of the parameter's backend (Redis: connected, or fails the test).
  node& add_node();
  node& add_node(broker::redis::redis_settings s, bool wait_connected = true);
  // Destroys a node without stop(): a crash, as far as Redis can tell.
  void crash(node& n);

  // Runs `t` on the io_context and returns its result; throws after `timeout`.
  template <typename T>
  T await(task<T> t, std::chrono::milliseconds timeout = 10s) {
    auto f = boost::asio::co_spawn(ctx_, std::move(t), boost::asio::use_future);
    if (f.wait_for(timeout) != std::future_status::ready) throw std::runtime_error("timed out awaiting the broker");
    return f.get();
  }
  // Polls `cond` until it holds or the timeout passes.
  static bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

  domain::broker_event message_event(const channel_id& c, std::int64_t seq, std::string frame) const;

  boost::asio::io_context ctx_;
  std::string prefix_;
  std::vector<std::unique_ptr<node>> nodes_;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{ctx_.get_executor()};
  std::vector<std::thread> threads_;
};

}  // namespace sl::test
