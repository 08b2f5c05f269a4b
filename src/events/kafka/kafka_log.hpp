#pragma once
// The Apache Kafka implementation of the event log port (domain/event_log.hpp),
// over librdkafka's C API driven on Asio: no call blocks an I/O thread on the
// network, and no thread is started per call.
//
// Producer: one per log, idempotent (`enable.idempotence`, `acks=all`, at most
// 5 requests in flight), so order is kept per key and retries make no
// duplicates. Each event is one record: key = log_event.key, value = payload,
// timestamp = created_at (milliseconds), headers `event_id`, `event_type`, then
// log_event.headers. append() completes once every record of the call is
// acknowledged; it throws kafka_error when one failed or when they are not all
// acknowledged within delivery_timeout (plus a second of grace). When the
// producer's queue is full it waits for acknowledgements, then goes on.
//
// Streams: one high-level consumer per subscribe(), no auto-commit, new groups
// start at the earliest record. Records read back fill every log_event field;
// `id` comes from the `event_id` header or, for records written by other
// producers, from the payload's `event_id` field; nil when neither parses.
// Keep polling a stream (at least every 5 minutes, Kafka's
// max.poll.interval.ms), or Kafka hands its partitions to other members.
//
// Threads: the log is thread-safe (its producer lives on a strand of `ex`); a
// stream is used by one coroutine at a time. librdkafka's blocking calls (the
// metadata request of check(), lag()'s offset queries, destroying a client)
// run on a process-wide pool of 2 threads, never on an I/O thread.
// Failures: kafka_error (an sl::infrastructure_error); invalid settings throw
// std::invalid_argument from open_kafka_log().
// Lifetime: the io_context of `ex` must outlive the log and its streams, and
// no call may be in progress when they are destroyed. Call stop() (and
// close() on streams) first: destroying a log without it drops the records
// not yet acknowledged; destroying an open stream leaves its group member
// behind until Kafka's session timeout (45 s) expires it. Neither blocks.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "base/error.hpp"
#include "domain/event_log.hpp"

namespace sl::events::kafka {

struct kafka_settings {
  // Brokers to start from: host:port,...
  std::string bootstrap;
  // Prefix of librdkafka's client.id ("<client_id>-producer", "<client_id>-<group>").
  std::string client_id = "signalink";
  // For the topics ensure_topics() creates.
  int partitions = 3;
  int replication_factor = 1;
  // librdkafka's compression.codec: none, gzip, snappy, lz4, zstd.
  std::string compression = "lz4";
  // How long the producer waits to fill a batch (linger.ms).
  std::chrono::milliseconds linger{5};
  // An append fails when a record is not acknowledged within this (message.timeout.ms).
  std::chrono::milliseconds delivery_timeout{15000};
  // A consumer that sends no heartbeat for this long leaves its group
  // (session.timeout.ms; the broker's minimum is 6 s by default).
  std::chrono::milliseconds session_timeout{45000};
  // Deadline of admin requests, metadata, commits, offset queries, leaving a group.
  std::chrono::milliseconds request_timeout{5000};
  // Records the producer holds before appends wait for room (queue.buffering.max.messages).
  std::size_t max_queued_records = 100000;
};

// Whether retrying the same call may succeed.
enum class failure { transient, permanent };

// A Kafka call failed or timed out. transient(): retrying may help; not for
// misuse (a closed stream, a bad topic name) nor after a fatal producer error
// (then the log must be reopened).
class kafka_error : public sl::infrastructure_error {
 public:
  kafka_error(const std::string& what, int code, failure kind = failure::transient)
      : sl::infrastructure_error(what), code_(code), transient_(kind == failure::transient) {}
  // librdkafka's rd_kafka_resp_err_t: negative for client-side errors
  // (-185 timed out, -192 message timed out), positive for the broker's.
  int code() const noexcept { return code_; }
  bool transient() const noexcept override { return transient_; }

 private:
  int code_;
  bool transient_;
};

// Validates the settings and creates the producer (it connects in the
// background). name() is "kafka". ensure_topics() creates each missing topic
// and its dead-letter twin `<topic>.dlq` (a name already ending in `.dlq` gets
// no twin) with the configured partitions; existing topics are left as they
// are. check() is a metadata round trip within request_timeout. lag() is the
// group's lag over every partition of the stream's topics (high watermark
// minus the committed offset, or minus the low watermark where the group
// committed nothing). stop() waits (up to delivery_timeout) for appends in
// flight, then releases the producer; appends after it throw.
std::unique_ptr<domain::event_log> open_kafka_log(boost::asio::any_io_executor ex, kafka_settings s);

}  // namespace sl::events::kafka
