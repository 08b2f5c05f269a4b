// How a Kafka record maps to a log_event (no broker needed).

#include <gtest/gtest.h>

#include "events/kafka/detail/records.hpp"

namespace sl::test {
namespace {

using events::kafka::detail::record_view;
using events::kafka::detail::to_event;
using events::kafka::detail::to_record_timestamp;

TEST(kafka_records, headers_give_the_id_and_type_and_the_rest_stay_in_order) {
  const auto id = event_id::generate();
  const auto id_text = id.str();
  record_view r;
  r.topic = "signalink.messages";
  r.key = "channel";
  r.value = R"({"event_id":"00000000-0000-0000-0000-000000000001","event_type":"other"})";
  r.headers = {{"trace", "1"}, {"event_id", id_text}, {"event_type", "message.created"}, {"x", ""}};
  r.timestamp_ms = 1'700'000'000'123;
  r.partition = 2;
  r.offset = 41;
  const auto e = to_event(r);
  EXPECT_EQ(e.id, id);  // the header wins over the payload
  EXPECT_EQ(e.event_type, "message.created");
  EXPECT_EQ(e.topic, "signalink.messages");
  EXPECT_EQ(e.key, "channel");
  EXPECT_EQ(e.payload, r.value);
  EXPECT_EQ(e.headers, (std::vector<std::pair<std::string, std::string>>{{"trace", "1"}, {"x", ""}}));
  EXPECT_EQ(e.created_at, timestamp(std::chrono::milliseconds(1'700'000'000'123)));
  EXPECT_EQ(e.partition, 2);
  EXPECT_EQ(e.offset, 41);
}

TEST(kafka_records, without_headers_the_envelope_gives_the_id_and_type) {
  const auto id = event_id::generate();
  const auto payload = R"({"event_type":"user.registered","event_id":")" + id.str() + R"(","n":1})";
  record_view r;
  r.value = payload;
  const auto e = to_event(r);
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.event_type, "user.registered");
  EXPECT_EQ(e.created_at, timestamp{});
}

TEST(kafka_records, an_id_that_parses_from_nowhere_stays_nil) {
  for (const std::string payload : {"not json", "[1,2]", R"({"event_id":42})", R"({"event_id":"nope"})", ""}) {
    record_view r;
    r.value = payload;
    r.headers = {{"event_id", "also-not-a-uuid"}};
    const auto e = to_event(r);
    EXPECT_TRUE(e.id.value.is_nil()) << payload;
    EXPECT_TRUE(e.headers.empty());
  }
}

TEST(kafka_records, timestamps_are_milliseconds_rounded_down) {
  EXPECT_EQ(to_record_timestamp(timestamp(std::chrono::microseconds(1'700'000'000'123'999))), 1'700'000'000'123);
  EXPECT_EQ(to_record_timestamp(timestamp(std::chrono::microseconds(-1))), -1);
}

}  // namespace
}  // namespace sl::test
