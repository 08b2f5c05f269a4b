#pragma once
// How a log_event maps to a Kafka record and back. A record carries the
// event's id and type twice: in the headers `event_id` and `event_type`
// (written by this log), and in the JSON payload's envelope (contract.md
// section 4). Reading, the headers win; records from other producers (kcat,
// tools) have none, so the payload's fields are used, and an id that parses
// from neither is left nil (the consumer framework treats such an event as
// poison).

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "domain/event_log.hpp"
#include "events/kafka/detail/handles.hpp"

namespace sl::events::kafka::detail {

inline constexpr std::string_view id_header = "event_id";
inline constexpr std::string_view type_header = "event_type";
inline constexpr std::string_view traceparent_header = "traceparent";  // W3C, the writing span

// The headers to produce `e` with: event_id, event_type, then e.headers.
headers_ptr make_headers(const domain::log_event& e);
// The record timestamp for `t`: milliseconds since the epoch (rounded down).
std::int64_t to_record_timestamp(timestamp t);

// A consumed record, viewed in place (valid while its message lives).
struct record_view {
  std::string_view topic;
  std::string_view key;
  std::string_view value;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::int64_t timestamp_ms = -1;  // -1: none
  std::int32_t partition = 0;
  std::int64_t offset = 0;
};

record_view view_of(const rd_kafka_message_t& m);
// The event of a record: every field filled, `headers` without event_id and
// event_type, created_at at millisecond precision (epoch when absent).
domain::log_event to_event(const record_view& r);

}  // namespace sl::events::kafka::detail
