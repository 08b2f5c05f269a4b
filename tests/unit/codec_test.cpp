#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "transport/ws/codec.hpp"

using namespace sl;
using namespace sl::ws;

namespace {

frame_error parse_error(std::string_view text) {
  auto r = parse_client_frame(text);
  EXPECT_TRUE(std::holds_alternative<frame_error>(r)) << text;
  return std::holds_alternative<frame_error>(r) ? std::get<frame_error>(r) : frame_error{};
}

client_request parse_ok(std::string_view text) {
  auto r = parse_client_frame(text);
  EXPECT_TRUE(std::holds_alternative<client_request>(r)) << text;
  return std::holds_alternative<client_request>(r) ? std::get<client_request>(r) : client_request{};
}

std::vector<std::string> keys(const std::string& frame) {
  std::vector<std::string> out;
  const auto v = boost::json::parse(frame);
  for (const auto& kv : v.as_object()) out.emplace_back(kv.key());
  return out;
}

const std::string cid = "01a2251c-7bba-7761-8e59-1cd417026927";

}  // namespace

TEST(Codec, ParsesEveryRequestType) {
  EXPECT_EQ(parse_ok(R"({"type":"ping"})").type, request_type::ping);
  auto sub = parse_ok(R"({"type":"channel.subscribe","channel_id":")" + cid + R"(","since_seq":5,"presence":true})");
  EXPECT_EQ(sub.type, request_type::subscribe);
  EXPECT_EQ(sub.channel.str(), cid);
  EXPECT_EQ(sub.since_seq, std::optional<std::int64_t>(5));
  EXPECT_TRUE(sub.presence);
  EXPECT_EQ(parse_ok(R"({"type":"channel.unsubscribe","channel_id":")" + cid + R"("})").type,
            request_type::unsubscribe);
  EXPECT_EQ(parse_ok(R"({"type":"typing.start","channel_id":")" + cid + R"("})").type, request_type::typing_start);
  EXPECT_EQ(parse_ok(R"({"type":"typing.stop","channel_id":")" + cid + R"("})").type, request_type::typing_stop);
  auto send = parse_ok(R"({"type":"message.send","channel_id":")" + cid +
                       R"(","content":"hi","message_type":"image","metadata":{"a":1},"client_msg_id":"c-1"})");
  EXPECT_EQ(send.type, request_type::send);
  EXPECT_EQ(send.draft.content, "hi");
  EXPECT_EQ(send.draft.type, domain::message_type::image);
  EXPECT_EQ(send.draft.client_msg_id, std::optional<std::string>("c-1"));
  EXPECT_TRUE(send.draft.metadata.is_object());
}

TEST(Codec, RefusesBadFramesWithTheirCodes) {
  EXPECT_EQ(parse_error("{nope").code, "bad_request");
  EXPECT_EQ(parse_error("[1,2]").code, "bad_request");
  EXPECT_EQ(parse_error(R"({"channel_id":"x"})").code, "bad_request");
  EXPECT_EQ(parse_error(R"({"type":"dance"})").code, "unknown_type");
  EXPECT_EQ(parse_error(R"({"type":"channel.subscribe"})").code, "invalid");
  EXPECT_EQ(parse_error(R"({"type":"channel.subscribe","channel_id":"not-a-uuid"})").code, "invalid");
  EXPECT_EQ(parse_error(R"({"type":"channel.subscribe","channel_id":")" + cid + R"(","since_seq":-1})").code,
            "invalid");
  auto blank =
      parse_error(R"({"type":"message.send","channel_id":")" + cid + R"(","content":"  ","client_msg_id":"k"})");
  EXPECT_EQ(blank.code, "invalid");
  EXPECT_EQ(blank.client_msg_id, std::optional<std::string>("k"));
  EXPECT_NE(blank.text.find("content"), std::string::npos);
  EXPECT_EQ(
      parse_error(R"({"type":"message.send","channel_id":")" + cid + R"(","content":"x","message_type":"video"})").code,
      "invalid");
}

TEST(Codec, MapsDomainErrorsToFrameCodes) {
  EXPECT_EQ(to_frame_error(error::make(error_kind::forbidden, "no")).code, "forbidden");
  EXPECT_EQ(to_frame_error(error::make(error_kind::not_found, "no")).code, "not_found");
  EXPECT_EQ(to_frame_error(error::make(error_kind::rate_limited, "slow")).code, "rate_limited");
  EXPECT_EQ(to_frame_error(error::make(error_kind::bad_request, "parent")).code, "invalid");
  EXPECT_EQ(to_frame_error(error::make(error_kind::unavailable, "db")).code, "internal");
}

TEST(Codec, ServerFramesStartWithTypeAndTimestamp) {
  const auto now = from_unix_micros(1'700'000'000'000'000);
  const auto c = *channel_id::parse(cid);
  domain::message m;
  m.id = message_id::generate();
  m.channel = c;
  m.author = user_id::generate();
  m.content = "hé";
  m.seq = 3;
  m.metadata = nullptr;
  EXPECT_EQ(keys(pong_frame(now)), (std::vector<std::string>{"type", "timestamp"}));
  EXPECT_EQ(keys(message_frame(now, domain::message_change::created, m, "ann")),
            (std::vector<std::string>{"type", "timestamp", "message_id", "channel_id", "user_id", "username", "content",
                                      "message_type", "metadata", "created_at", "seq", "parent_id", "client_msg_id"}));
  auto ok = boost::json::parse(success_frame(now, "Subscribed to channel " + cid, c, true)).as_object();
  EXPECT_EQ(ok.at("data").as_object().at("recovered").as_bool(), true);
  EXPECT_EQ(ok.at("data").as_object().at("channel_id").as_string(), cid);
  EXPECT_EQ(keys(error_frame(now, frame_error{"forbidden", "no", {}})),
            (std::vector<std::string>{"type", "timestamp", "error", "code"}));
  EXPECT_EQ(keys(ack_frame(now, std::string("k"), m)),
            (std::vector<std::string>{"type", "timestamp", "client_msg_id", "message_id", "channel_id", "seq"}));
  EXPECT_EQ(
      boost::json::parse(presence_frame(now, *m.author, domain::presence_status::offline)).at("status").as_string(),
      "offline");
  EXPECT_EQ(boost::json::parse(unsubscribed_frame(now, c, "deleted")).at("reason").as_string(), "deleted");
}

TEST(Codec, ReadsCreatedAtOfAMessageFrameWithoutParsingIt) {
  const auto now = from_unix_micros(1'700'000'000'000'000);
  domain::message m;
  m.id = message_id::generate();
  m.channel = *channel_id::parse(cid);
  m.author = user_id::generate();
  m.created_at = from_unix_micros(1'600'000'000'123'456);
  // Content and metadata that look like the key must not be taken for it.
  m.content = R"(","created_at":"2001-01-01T00:00:00.000000Z)";
  m.metadata = boost::json::parse(R"({"created_at":"2002-02-02T00:00:00.000000Z"})");
  m.client_msg_id = R"(x"created_at":"2003-03-03T00:00:00.000000Z)";
  m.seq = 9;
  const auto frame = message_frame(now, domain::message_change::created, m, "ann");
  EXPECT_EQ(message_created_at(frame), std::optional<timestamp>(m.created_at));
  EXPECT_EQ(message_created_at(pong_frame(now)), std::nullopt);
  EXPECT_EQ(message_created_at(R"({"created_at":"not a time"})"), std::nullopt);
}
