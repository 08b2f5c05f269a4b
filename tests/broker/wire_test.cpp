// The Redis broker's wire format and URL parsing: no Redis needed.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>

#include "broker/redis/detail/wire.hpp"
#include "broker/redis/redis_broker.hpp"
#include "broker/redis/redis_url.hpp"

namespace sl::test {
namespace {

using broker::redis::detail::decode_event;
using broker::redis::detail::encode_event;
using domain::broker_event;
using domain::broker_event_kind;

TEST(redis_wire, encodes_a_readable_header_then_the_frame) {
  broker_event e;
  e.kind = broker_event_kind::typing;
  e.channel = *channel_id::parse("0190f3b2-0000-7000-8000-000000000001");
  e.seq = 0;
  e.actor = *user_id::parse("0190f3b2-0000-7000-8000-000000000002");
  e.reason = "a b-c";
  e.frame = std::make_shared<const std::string>("{\"x\":1}");
  EXPECT_EQ(encode_event(e),
            "v1 typing 0190f3b2-0000-7000-8000-000000000001 0 0190f3b2-0000-7000-8000-000000000002 online "
            "a%20b%2Dc 1\n{\"x\":1}");
  broker_event p;
  p.kind = broker_event_kind::presence;
  p.actor = e.actor;
  p.status = domain::presence_status::offline;
  EXPECT_EQ(encode_event(p), "v1 presence - 0 0190f3b2-0000-7000-8000-000000000002 offline - 0\n");
}

TEST(redis_wire, encodes_a_notification_without_a_channel) {
  broker_event e;
  e.kind = broker_event_kind::notification;
  e.actor = *user_id::parse("0190f3b2-0000-7000-8000-000000000002");
  e.frame = std::make_shared<const std::string>(R"({"type":"notification.new"})");
  const auto wire = encode_event(e);
  EXPECT_EQ(wire,
            "v1 notification - 0 0190f3b2-0000-7000-8000-000000000002 online - 1\n{\"type\":\"notification.new\"}");
  const auto d = decode_event(wire);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, broker_event_kind::notification);
  EXPECT_TRUE(d->channel.value.is_nil());
  EXPECT_EQ(d->actor, e.actor);
  ASSERT_TRUE(d->frame);
  EXPECT_EQ(*d->frame, *e.frame);
}

TEST(redis_wire, round_trips_every_field) {
  broker_event e;
  e.kind = broker_event_kind::membership_ended;
  e.channel = channel_id::generate();
  e.seq = -42;
  e.actor = user_id::generate();
  e.status = domain::presence_status::offline;
  e.reason = "-\n %";
  e.reason += '\0';
  e.reason += "ü";
  std::string frame = "{\"a\":\"\n\"}";
  frame += '\0';
  frame += '\xff';
  e.frame = std::make_shared<const std::string>(frame);
  const auto d = decode_event(encode_event(e));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, e.kind);
  EXPECT_EQ(d->channel, e.channel);
  EXPECT_EQ(d->seq, e.seq);
  EXPECT_EQ(d->actor, e.actor);
  EXPECT_EQ(d->status, e.status);
  EXPECT_EQ(d->reason, e.reason);
  ASSERT_TRUE(d->frame);
  EXPECT_EQ(*d->frame, *e.frame);

  e.frame = std::make_shared<const std::string>();  // empty, not null
  ASSERT_TRUE(decode_event(encode_event(e)));
  EXPECT_TRUE(decode_event(encode_event(e))->frame);
  e.frame = nullptr;
  EXPECT_FALSE(decode_event(encode_event(e))->frame);
}

TEST(redis_wire, refuses_anything_malformed_without_throwing) {
  const std::string good = "v1 presence - 0 - online - 0\n";
  ASSERT_TRUE(decode_event(good));
  for (const std::string bad :
       {"", "\n", "v1", "v1 presence - 0 - online - 0", "v2 presence - 0 - online - 0\n",
        "v1 presence - 0 - online - 0 \n", "v1  presence - 0 - online - 0\n", "v1 presence - 0 - online -\n",
        "v1 presence - 0 - online - 0 extra\n", "v1 shouting - 0 - online - 0\n", "v1 presence x 0 - online - 0\n",
        "v1 presence - 0x1 - online - 0\n", "v1 presence - 99999999999999999999 - online - 0\n",
        "v1 presence - 0 - away - 0\n", "v1 presence - 0 - online %4 0\n", "v1 presence - 0 - online a%zz 0\n",
        "v1 presence - 0 - online a b 0\n", "v1 presence - 0 - online - 2\n", "v1 presence - 0 - online - 0\nbody"}) {
    EXPECT_FALSE(decode_event(bad)) << bad;
  }
  // Every prefix of a valid message, and some noise, must not crash.
  const auto full =
      encode_event(broker_event{broker_event_kind::message_created, channel_id::generate(), 5, user_id::generate(),
                                domain::presence_status::online, "removed", std::make_shared<const std::string>("{}")});
  for (std::size_t i = 0; i < full.size(); ++i) (void)decode_event(std::string_view(full).substr(0, i));
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 7919) % 256);
  EXPECT_FALSE(decode_event(noise));
}

TEST(redis_url, parses_the_accepted_forms) {
  using broker::redis::parse_redis_url;
  auto a = parse_redis_url("redis://127.0.0.1:56379/0");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 56379);
  EXPECT_EQ(a.db, 0);
  EXPECT_TRUE(a.password.empty());
  auto b = parse_redis_url("redis://:s%40cret@redis.internal/3");
  EXPECT_EQ(b.host, "redis.internal");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.password, "s@cret");
  EXPECT_TRUE(b.user.empty());
  EXPECT_EQ(b.db, 3);
  auto c = parse_redis_url("redis://app:pw@[::1]:7000");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 7000);
  EXPECT_EQ(c.user, "app");
  EXPECT_EQ(c.password, "pw");
  EXPECT_EQ(parse_redis_url("redis://localhost/").db, 0);
}

TEST(redis_url, refuses_bad_urls_with_a_clear_message) {
  using broker::redis::parse_redis_url;
  for (const char* bad : {"", "localhost:6379", "http://localhost", "rediss://localhost", "redis://", "redis://:6379",
                          "redis://host:0", "redis://host:65536", "redis://host:port", "redis://host/x",
                          "redis://host/-1", "redis://host/1/2", "redis://user@host", "redis://host?db=1"}) {
    try {
      parse_redis_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("Redis URL"), std::string::npos) << e.what();
    }
  }
  try {
    parse_redis_url("redis://user:hunter2@host:port");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << "the password leaked: " << e.what();
  }
}

TEST(redis_url, open_redis_broker_validates_its_settings) {
  boost::asio::io_context ctx;
  broker::redis::redis_settings s;
  s.url = "redis://host:1:2";
  EXPECT_THROW(broker::redis::open_redis_broker(ctx.get_executor(), s), std::invalid_argument);
  s.url = "redis://127.0.0.1:1/0";
  s.heartbeat_ttl = s.heartbeat_interval;
  EXPECT_THROW(broker::redis::open_redis_broker(ctx.get_executor(), s), std::invalid_argument);
  s.heartbeat_ttl = std::chrono::seconds(10);
  auto b = broker::redis::open_redis_broker(ctx.get_executor(), s);  // not started: nothing connects
  EXPECT_EQ(b->name(), "redis");
  EXPECT_FALSE(b->connected());
  b.reset();
  ctx.run();
}

}  // namespace
}  // namespace sl::test
