#pragma once
// client: one librdkafka instance (an rd_kafka_t, producer or consumer) and
// the context its callbacks use. librdkafka's log lines go to sl::log with our
// levels (syslog 0-2 error, 3-4 warn, 5-6 info, 7 debug), at most one line per
// facility every 10 s (the count of lines left out goes with the next one):
// an unreachable broker is reported, not repeated several times a second.
//
// Threads: get() is usable from any thread (librdkafka's handles are
// thread-safe); the log callback runs on librdkafka's threads.
// Lifetime: the destructor destroys the handle, which blocks while
// librdkafka's threads end (up to about a second): clients are shared through
// make_shared_client(), whose last owner never destroys one on its own thread
// unless that thread belongs to blocking_pool().

#include <librdkafka/rdkafka.h>

#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "events/kafka/detail/handles.hpp"

namespace sl::events::kafka::detail {

// Admits one line per key per window; thread-safe.
class log_limiter {
 public:
  using clock = std::chrono::steady_clock;
  explicit log_limiter(std::chrono::milliseconds window) : window_(window) {}
  // nullopt: leave this line out. Otherwise the number of lines left out for
  // `key` since the last one admitted.
  std::optional<std::size_t> admit(std::string_view key, clock::time_point now = clock::now());

 private:
  struct entry {
    clock::time_point last;
    std::size_t suppressed = 0;
  };
  std::chrono::milliseconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, entry> seen_;
};

// What librdkafka's callbacks reach through the instance's opaque.
struct client_context {
  std::string name;  // client.id, in every log line
  log_limiter limiter{std::chrono::seconds(10)};
};

// librdkafka configuration properties: (name, value) in order. Throws
// std::invalid_argument naming the property librdkafka refuses.
conf_ptr make_conf(std::initializer_list<std::pair<const char*, std::string>> props);

// Logs a librdkafka or client error, rate limited like the log lines: warn,
// or error (never left out) for a fatal one (failure::permanent).
void log_client_error(client_context& ctx, rd_kafka_resp_err_t err, std::string_view reason, failure kind);

class client {
 public:
  // Creates the instance from `conf` (which it takes), with the log callback
  // installed and the context as opaque. client.id must be set in `conf`.
  // Throws std::invalid_argument when librdkafka refuses the configuration.
  client(rd_kafka_type_t type, conf_ptr conf, std::string name);
  // Destroys the handle without leaving a consumer group (a stream leaves it
  // in close(), asynchronously); blocks while librdkafka's threads end.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  rd_kafka_t* get() const noexcept { return rk_; }
  client_context& context() noexcept { return *ctx_; }
  const std::string& name() const noexcept { return ctx_->name; }

 private:
  std::unique_ptr<client_context> ctx_;  // outlives rk_: librdkafka logs while it is destroyed
  rd_kafka_t* rk_ = nullptr;
};

// Two threads, for the process, for librdkafka's blocking calls (metadata,
// offset queries) and for destroying clients. Never destroyed.
boost::asio::thread_pool& blocking_pool();

// A shared client whose destruction runs on blocking_pool(): on the thread
// that drops the last reference when it is a pool thread (so that awaiting
// net::offload(pool, drop) waits for it), posted to the pool otherwise.
std::shared_ptr<client> make_shared_client(rd_kafka_type_t type, conf_ptr conf, std::string name);

}  // namespace sl::events::kafka::detail
