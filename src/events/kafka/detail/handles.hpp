#pragma once
// Owners of librdkafka's C objects (each released by its own destroy call),
// and the kafka_error thrown from librdkafka's error codes.

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>

#include "events/kafka/kafka_log.hpp"

namespace sl::events::kafka::detail {

template <typename T, void (*Destroy)(T*)>
struct destroy_with {
  void operator()(T* p) const noexcept {
    if (p != nullptr) Destroy(p);
  }
};

using conf_ptr = std::unique_ptr<rd_kafka_conf_t, destroy_with<rd_kafka_conf_t, rd_kafka_conf_destroy>>;
using queue_ptr = std::unique_ptr<rd_kafka_queue_t, destroy_with<rd_kafka_queue_t, rd_kafka_queue_destroy>>;
using event_ptr = std::unique_ptr<rd_kafka_event_t, destroy_with<rd_kafka_event_t, rd_kafka_event_destroy>>;
using message_ptr = std::unique_ptr<rd_kafka_message_t, destroy_with<rd_kafka_message_t, rd_kafka_message_destroy>>;
using headers_ptr = std::unique_ptr<rd_kafka_headers_t, destroy_with<rd_kafka_headers_t, rd_kafka_headers_destroy>>;
using error_ptr = std::unique_ptr<rd_kafka_error_t, destroy_with<rd_kafka_error_t, rd_kafka_error_destroy>>;
using partitions_ptr =
    std::unique_ptr<rd_kafka_topic_partition_list_t,
                    destroy_with<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;
using admin_options_ptr =
    std::unique_ptr<rd_kafka_AdminOptions_t, destroy_with<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>>;
using topic_ptr = std::unique_ptr<rd_kafka_topic_t, destroy_with<rd_kafka_topic_t, rd_kafka_topic_destroy>>;
using new_topic_ptr =
    std::unique_ptr<rd_kafka_NewTopic_t, destroy_with<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>>;

struct metadata_deleter {
  void operator()(const rd_kafka_metadata_t* p) const noexcept {
    if (p != nullptr) rd_kafka_metadata_destroy(p);
  }
};
using metadata_ptr = std::unique_ptr<const rd_kafka_metadata_t, metadata_deleter>;

// "<what>: <librdkafka's text for err>".
inline kafka_error make_error(std::string_view what, rd_kafka_resp_err_t err, failure kind = failure::transient) {
  return kafka_error(std::string(what) + ": " + rd_kafka_err2str(err), static_cast<int>(err), kind);
}

}  // namespace sl::events::kafka::detail
