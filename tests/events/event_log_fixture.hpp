#pragma once
// The event log contract fixture: an io_context run by two threads for the
// whole test, the log of the parameter's backend (opened in SetUp, stopped in
// TearDown), unique topic and group names, and reads that always have a
// deadline. Backends: `database` (the in-database log over a SQLite file of
// the test, with a running outbox relay to publish what is appended) always;
// `kafka` when SIGNALINK_TEST_KAFKA_BOOTSTRAP names a broker (scripts/kafka-up
// prints one).

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <filesystem>

#include "domain/event_log.hpp"
#include "domain/store.hpp"
#include "events/kafka/kafka_log.hpp"
#include "events/outbox_relay.hpp"

namespace sl::test {

using namespace std::chrono_literals;

enum class backend { database, kafka };

// SIGNALINK_TEST_KAFKA_BOOTSTRAP, when set and not empty.
std::optional<std::string> kafka_test_bootstrap();
// Backends to instantiate the Kafka suites with: Kafka only when configured.
std::vector<backend> kafka_if_configured();
inline std::vector<backend> database_backend() { return {backend::database}; }
std::string backend_name(const testing::TestParamInfo<backend>& info);

// What a backend keeps of an event beyond the port's guarantees.
struct backend_traits {
  bool keeps_headers = false;  // the database log keeps none
};

// An event with a fresh id, created now (to the millisecond); the payload
// defaults to an envelope holding just the id.
domain::log_event make_event(const std::string& topic, const std::string& key, std::string payload = {},
                             std::string type = "message.created");

class event_log_fixture : public testing::TestWithParam<backend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  domain::event_log& log() { return *log_; }
  backend_traits traits() const;
  // Settings of a Kafka log of this test (short timeouts).
  events::kafka::kafka_settings kafka_settings() const;
  // Another log of the parameter's backend, stopped in TearDown.
  domain::event_log& open_log();
  domain::event_log& open_kafka_log(events::kafka::kafka_settings s);

  // Runs `t` on the io_context and returns its result; throws after `timeout`.
  template <typename T>
  T await(task<T> t, std::chrono::milliseconds timeout = 60s) {
    auto f = boost::asio::co_spawn(ctx_, std::move(t), boost::asio::use_future);
    if (f.wait_for(timeout) != std::future_status::ready) throw std::runtime_error("timed out awaiting the log");
    return f.get();
  }

  // "test.<random>": a topic no other test uses; the log creates it (and its twin).
  std::string new_topic(domain::event_log* on = nullptr);
  static std::string unique_group();
  // A stream of `group` on `topics`, closed in TearDown unless the test did.
  domain::event_stream& subscribe(const std::string& group, std::vector<std::string> topics);
  void close(domain::event_stream& s);
  // Polls until `n` events arrived (or `timeout`); returns what arrived, in order.
  std::vector<domain::log_event> read(domain::event_stream& s, std::size_t n, std::chrono::milliseconds timeout = 30s);

  boost::asio::io_context ctx_;

 private:
  // The database backend's store and relay.
  std::filesystem::path dir_;
  std::unique_ptr<domain::store> store_;
  system_clock clock_;
  std::unique_ptr<events::outbox_relay> relay_;
  std::vector<std::unique_ptr<domain::event_log>> logs_;
  domain::event_log* log_ = nullptr;
  std::vector<std::pair<std::unique_ptr<domain::event_stream>, bool>> streams_;  // (stream, closed)
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{ctx_.get_executor()};
  std::vector<std::thread> threads_;
};

}  // namespace sl::test
