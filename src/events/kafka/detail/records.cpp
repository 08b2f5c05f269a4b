#include "events/kafka/detail/records.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>

namespace sl::events::kafka::detail {

headers_ptr make_headers(const domain::log_event& e) {
  headers_ptr h(rd_kafka_headers_new(e.headers.size() + 3));
  const auto id = e.id.str();
  rd_kafka_header_add(h.get(), id_header.data(), static_cast<ssize_t>(id_header.size()), id.data(),
                      static_cast<ssize_t>(id.size()));
  rd_kafka_header_add(h.get(), type_header.data(), static_cast<ssize_t>(type_header.size()), e.event_type.data(),
                      static_cast<ssize_t>(e.event_type.size()));
  if (!e.traceparent.empty())
    rd_kafka_header_add(h.get(), traceparent_header.data(), static_cast<ssize_t>(traceparent_header.size()),
                        e.traceparent.data(), static_cast<ssize_t>(e.traceparent.size()));
  for (const auto& [name, value] : e.headers)
    rd_kafka_header_add(h.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  return h;
}

std::int64_t to_record_timestamp(timestamp t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

record_view view_of(const rd_kafka_message_t& m) {
  record_view r;
  r.topic = rd_kafka_topic_name(m.rkt);
  if (m.key != nullptr) r.key = std::string_view(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value = std::string_view(static_cast<const char*>(m.payload), m.len);
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  r.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
  if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) r.timestamp_ms = -1;
  r.partition = m.partition;
  r.offset = m.offset;
  rd_kafka_headers_t* hdrs = nullptr;
  // The headers stay owned by the message.
  if (rd_kafka_message_headers(&m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs != nullptr) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
      r.headers.emplace_back(
          name, value != nullptr ? std::string_view(static_cast<const char*>(value), size) : std::string_view());
    }
  }
  return r;
}

domain::log_event to_event(const record_view& r) {
  domain::log_event e;
  e.topic = r.topic;
  e.key = r.key;
  e.payload = r.value;
  e.partition = r.partition;
  e.offset = r.offset;
  if (r.timestamp_ms >= 0) e.created_at = timestamp(std::chrono::milliseconds(r.timestamp_ms));
  std::optional<event_id> id;
  bool has_type = false;
  for (const auto& [name, value] : r.headers) {
    if (name == id_header) {
      if (!id) id = event_id::parse(value);
    } else if (name == type_header) {
      if (!has_type) e.event_type = value;
      has_type = true;
    } else if (name == traceparent_header) {
      if (e.traceparent.empty()) e.traceparent = value;
    } else {
      e.headers.emplace_back(name, value);
    }
  }
  // Records from other producers: the envelope says it (parsed only when needed).
  if (!id || !has_type) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(r.value, ec);
    if (!ec && v.is_object()) {
      const auto& o = v.as_object();
      if (const auto* f = o.if_contains(id_header); !id && f != nullptr && f->is_string())
        id = event_id::parse(std::string_view(f->as_string()));
      if (const auto* f = o.if_contains(type_header); !has_type && f != nullptr && f->is_string())
        e.event_type = std::string_view(f->as_string());
    }
  }
  if (id) e.id = *id;
  return e;
}

}  // namespace sl::events::kafka::detail
