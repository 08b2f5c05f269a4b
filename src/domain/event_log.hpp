#pragma once
// The event log port (contract.md section 4): where outbox events go once
// committed, and where consumers (analytics, notifications, tools) read them.
// Two implementations: the in-database log (the outbox itself, the embedded
// default) and Apache Kafka.
//
// Delivery is at least once: an append that fails (or a process killed
// between an append and its outbox rows being marked sent) is retried whole,
// so consumers see duplicates and de-duplicate on `id` (the envelope's
// event_id). Order is kept per key (a channel's events, a user's events).
//
// Threads: event_log and event_sink are thread-safe; an event_stream belongs
// to one coroutine at a time. Failures: infrastructure errors throw
// sl::infrastructure_error (transient() when retrying may help); nothing here
// fails as an expected value.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/task.hpp"
#include "base/time.hpp"
#include "base/uuid.hpp"

namespace sl::domain {

// One event: an outbox row as shipped, or a record read back.
struct log_event {
  event_id id;             // nil when read from a record that has none (another producer's)
  std::string topic;       // signalink.messages, signalink.presence, <topic>.dlq...
  std::string key;         // channel id (messages) or user id
  std::string event_type;  // message.created, presence.online...
  std::string payload;     // the JSON envelope, byte for byte
  timestamp created_at;    // when the write happened (Kafka keeps milliseconds)
  // The span that wrote it (W3C traceparent; "" for none): the outbox and
  // database log column `traceparent`, the Kafka record header `traceparent`.
  std::string traceparent;
  // Extra metadata (Kafka headers other than traceparent); the database log keeps none.
  std::vector<std::pair<std::string, std::string>> headers;
  // Where the event sits, set on the events a stream returns: Kafka's
  // partition and offset, or partition 0 and the database log's position.
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

// Appends events to the log.
class event_sink {
 public:
  virtual ~event_sink() = default;
  // Appends `events` (order kept per key) and completes once every one is
  // durably stored (Kafka: acknowledged by all in-sync replicas); throws when
  // that cannot be confirmed within the implementation's deadline, in which
  // case any of them may or may not be stored.
  virtual task<void> append(std::vector<log_event> events) = 0;
};

// One member of a consumer group, reading some topics from the group's
// committed positions. Used by one coroutine at a time.
class event_stream {
 public:
  virtual ~event_stream() = default;
  // Up to `max` events after what the group committed, in log order per
  // partition; waits at most `wait` for the first one (empty on timeout).
  virtual task<std::vector<log_event>> poll(std::size_t max, std::chrono::milliseconds wait) = 0;
  // Commits the group's positions through these events (a prefix, per
  // partition, of what poll returned): after a restart the group resumes
  // after them. `handled` must outlive the call (await it at once).
  virtual task<void> commit(const std::vector<log_event>& handled) = 0;
  // Events of the subscribed topics after the group's committed positions,
  // over every partition (not only this member's); appended events not yet
  // readable count too.
  virtual task<std::int64_t> lag() = 0;
  // Leaves the group (Kafka: hands its partitions to the other members).
  virtual task<void> close() = 0;
};

class event_log {
 public:
  virtual ~event_log() = default;
  // "database" or "kafka".
  virtual std::string_view name() const noexcept = 0;
  // Creates the topics if missing (Kafka: with the configured partitions).
  virtual task<void> ensure_topics(std::vector<std::string> topics) = 0;
  virtual event_sink& sink() = 0;
  virtual task<std::unique_ptr<event_stream>> subscribe(std::string group, std::vector<std::string> topics) = 0;
  // A real round trip to the log (for /health); false when it fails.
  virtual task<bool> check() = 0;
  // Waits for appends in flight, then releases connections. Idempotent.
  virtual task<void> stop() = 0;
};

inline constexpr std::string_view dead_letter_suffix = ".dlq";

}  // namespace sl::domain
