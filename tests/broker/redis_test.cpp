// Redis-only behaviour: several nodes on one Redis, interest per channel,
// presence across nodes and after a crash, garbage on a topic, and outages
// (a private redis-server killed, frozen and started again). Registered only
// when SIGNALINK_TEST_REDIS_URL is set.

#include <sstream>

#include "broker/redis/detail/wire.hpp"
#include "broker_fixture.hpp"
#include "observability/metrics.hpp"
#include "redis_server.hpp"

namespace sl::test {
namespace {

using domain::broker_event;
using domain::broker_event_kind;
using domain::presence_status;

class redis_broker : public broker_fixture {
 protected:
  static const auto offline = presence_status::offline;
};

INSTANTIATE_TEST_SUITE_P(redis, redis_broker, testing::ValuesIn(redis_if_configured()), backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(redis_broker);

// The value of one sample in the metrics exposition (0 when absent).
double metric(const std::string& sample) {
  std::istringstream in(obs::render_metrics());
  for (std::string line; std::getline(in, line);)
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  return 0;
}

auto has_seq(const channel_id& c, std::int64_t seq) {
  return [c, seq](const recorder::events& es) { return count_seq(es, c, seq) > 0; };
}

auto has_presence(const user_id& u, presence_status s) {
  return [u, s](const recorder::events& es) { return count_presence(es, u, s) > 0; };
}

TEST_P(redis_broker, a_claim_made_on_one_node_is_refused_on_another) {
  auto& a = add_node();
  auto& b = add_node();
  const auto key = "ticket:" + uuid::v7().str();
  EXPECT_TRUE(await(a.broker->claim_once(key, 5s)));
  EXPECT_FALSE(await(b.broker->claim_once(key, 5s)));
  EXPECT_FALSE(await(a.broker->claim_once(key, 5s)));
}

TEST_P(redis_broker, two_nodes_see_each_others_events) {
  auto& a = add_node();
  auto& b = add_node();
  const auto c = channel_id::generate();
  await(a.broker->subscribe(c));
  await(b.broker->subscribe(c));
  a.broker->publish(message_event(c, 1, R"({"from":"a"})"));
  b.broker->publish(message_event(c, 2, R"({"from":"b"})"));
  for (auto* n : {&a, &b}) {
    ASSERT_TRUE(n->seen->wait_for([&](const auto& es) { return es.size() == 2; }, 5s));
    EXPECT_EQ(count_seq(n->seen->snapshot(), c, 1), 1u);
    EXPECT_EQ(count_seq(n->seen->snapshot(), c, 2), 1u);
  }
}

TEST_P(redis_broker, events_of_channels_not_subscribed_are_not_delivered) {
  auto& a = add_node();
  auto& b = add_node();
  const auto wanted = channel_id::generate();
  const auto other = channel_id::generate();
  await(a.broker->subscribe(wanted));
  await(b.broker->subscribe(other));
  // One publisher, one order: once `wanted` arrived, `other` would have too.
  b.broker->publish(message_event(other, 1, "{}"));
  b.broker->publish(message_event(wanted, 2, "{}"));
  ASSERT_TRUE(a.seen->wait_for(has_seq(wanted, 2), 5s));
  ASSERT_TRUE(b.seen->wait_for(has_seq(other, 1), 5s));
  EXPECT_EQ(count_seq(a.seen->snapshot(), other, 1), 0u);
  EXPECT_EQ(count_seq(b.seen->snapshot(), wanted, 2), 0u);
}

TEST_P(redis_broker, unsubscribe_stops_delivery) {
  auto& a = add_node();
  auto& b = add_node();
  const auto c = channel_id::generate();
  const auto marker = channel_id::generate();
  await(a.broker->subscribe(c));
  await(a.broker->subscribe(marker));
  b.broker->publish(message_event(c, 1, "{}"));
  ASSERT_TRUE(a.seen->wait_for(has_seq(c, 1), 5s));

  a.broker->unsubscribe(c);
  EXPECT_TRUE(await(a.broker->check()));  // runs after the unsubscribe on a's strand
  b.broker->publish(message_event(c, 2, "{}"));
  b.broker->publish(message_event(marker, 3, "{}"));
  ASSERT_TRUE(a.seen->wait_for(has_seq(marker, 3), 5s));
  EXPECT_EQ(count_seq(a.seen->snapshot(), c, 2), 0u);

  await(a.broker->subscribe(c));  // and interest can come back
  b.broker->publish(message_event(c, 4, "{}"));
  EXPECT_TRUE(a.seen->wait_for(has_seq(c, 4), 5s));
}

TEST_P(redis_broker, presence_counts_across_nodes) {
  auto& a = add_node();
  auto& b = add_node();
  const auto u = user_id::generate();
  EXPECT_TRUE(await(a.broker->socket_opened(u)));
  EXPECT_FALSE(await(b.broker->socket_opened(u)));
  EXPECT_FALSE(await(a.broker->socket_opened(u)));
  EXPECT_EQ(await(b.broker->online_among({u})), std::vector<user_id>{u});
  EXPECT_FALSE(await(a.broker->socket_closed(u)));
  EXPECT_FALSE(await(a.broker->socket_closed(u)));
  // a has none left, b still has one: online everywhere.
  EXPECT_EQ(await(a.broker->online_among({u})), std::vector<user_id>{u});
  EXPECT_TRUE(await(b.broker->socket_closed(u)));
  EXPECT_TRUE(await(a.broker->online_among({u})).empty());
  EXPECT_TRUE(await(b.broker->online_among({u})).empty());
}

TEST_P(redis_broker, presence_events_reach_every_node) {
  auto& a = add_node();
  auto& b = add_node();
  broker_event e;
  e.kind = broker_event_kind::presence;
  e.actor = user_id::generate();
  a.broker->publish(e);
  EXPECT_TRUE(a.seen->wait_for(has_presence(e.actor, presence_status::online), 5s));
  EXPECT_TRUE(b.seen->wait_for(has_presence(e.actor, presence_status::online), 5s));
}

TEST_P(redis_broker, a_notification_reaches_every_node) {
  auto& a = add_node();
  auto& b = add_node();
  broker_event e;
  e.kind = broker_event_kind::notification;
  e.actor = user_id::generate();
  e.frame = std::make_shared<const std::string>(R"({"type":"notification.new","notification":{"text":"hé"}})");
  a.broker->publish(e);
  const auto has_it = [&](const recorder::events& es) {
    for (const auto& r : es)
      if (r.kind == broker_event_kind::notification && r.actor == e.actor && r.frame && *r.frame == *e.frame)
        return true;
    return false;
  };
  EXPECT_TRUE(b.seen->wait_for(has_it, 5s));
  EXPECT_TRUE(a.seen->wait_for(has_it, 5s));
}

TEST_P(redis_broker, viewers_count_across_nodes) {
  auto& a = add_node();
  auto& b = add_node();
  const auto c = channel_id::generate();
  const auto u = user_id::generate();
  const auto v = user_id::generate();
  a.broker->viewer_added(c, u);
  a.broker->viewer_added(c, u);
  b.broker->viewer_added(c, v);
  // viewer_added does not wait: a PING after it on the same connection does.
  EXPECT_TRUE(await(a.broker->check()));
  EXPECT_TRUE(await(b.broker->check()));
  EXPECT_EQ(await(b.broker->viewing_among(c, {u, v})), (std::vector<user_id>{u, v}));
  EXPECT_EQ(await(a.broker->viewing_among(c, {v})), std::vector<user_id>{v});
  EXPECT_TRUE(await(b.broker->viewing_among(channel_id::generate(), {u, v})).empty());

  a.broker->viewer_removed(c, u);
  EXPECT_TRUE(await(a.broker->check()));
  EXPECT_EQ(await(b.broker->viewing_among(c, {u})), std::vector<user_id>{u});  // a has one socket left
  a.broker->viewer_removed(c, u);
  EXPECT_TRUE(await(a.broker->check()));
  EXPECT_TRUE(await(b.broker->viewing_among(c, {u})).empty());
  EXPECT_EQ(redis_sync_command(*redis_test_url(), {"HLEN", prefix_ + "viewers:" + c.str()}), "1");
}

TEST_P(redis_broker, a_stopped_node_withdraws_its_viewers) {
  auto s = settings();
  s.heartbeat_ttl = 30s;  // so that only the goodbye can explain it
  auto& a = add_node(s);
  auto& b = add_node(s);
  const auto c = channel_id::generate();
  const auto u = user_id::generate();
  const auto v = user_id::generate();
  b.broker->viewer_added(c, u);
  b.broker->viewer_added(c, v);
  a.broker->viewer_added(c, v);
  EXPECT_TRUE(await(b.broker->check()));
  EXPECT_TRUE(await(a.broker->check()));
  EXPECT_EQ(await(a.broker->viewing_among(c, {u, v})), (std::vector<user_id>{u, v}));
  await(b.broker->stop());
  EXPECT_EQ(await(a.broker->viewing_among(c, {u, v})), std::vector<user_id>{v});
  EXPECT_EQ(redis_sync_command(*redis_test_url(), {"HLEN", prefix_ + "viewers:" + c.str()}), "1");
  b.broker->viewer_added(c, u);  // after stop: neither throws nor counts
  EXPECT_EQ(await(a.broker->viewing_among(c, {u, v})), std::vector<user_id>{v});
}

TEST_P(redis_broker, a_crashed_nodes_viewers_stop_counting_when_its_heartbeat_expires) {
  auto& a = add_node();
  auto& b = add_node();
  const auto c = channel_id::generate();
  const auto u = user_id::generate();
  b.broker->viewer_added(c, u);
  EXPECT_TRUE(await(b.broker->check()));
  EXPECT_EQ(await(a.broker->viewing_among(c, {u})), std::vector<user_id>{u});
  crash(b);
  // TTL 1 s + one heartbeat (0.2 s) at most, with room for a slow machine.
  EXPECT_TRUE(wait_until([&] { return await(a.broker->viewing_among(c, {u})).empty(); }, 3s));
  // The sweep removes the dead node's fields too.
  EXPECT_TRUE(wait_until(
      [&] {
        return redis_sync_command(*redis_test_url(), {"EXISTS", prefix_ + "viewers:" + c.str()}) == "0";
      },
      3s));
}

TEST_P(redis_broker, a_crashed_nodes_users_go_offline_within_the_heartbeat_ttl) {
  auto& a = add_node();
  auto& b = add_node();
  const auto only_b = user_id::generate();
  const auto both = user_id::generate();
  EXPECT_TRUE(await(b.broker->socket_opened(only_b)));
  EXPECT_TRUE(await(b.broker->socket_opened(both)));
  EXPECT_FALSE(await(a.broker->socket_opened(both)));
  EXPECT_EQ(await(a.broker->online_among({only_b, both})), (std::vector<user_id>{only_b, both}));

  const auto crashed_at = std::chrono::steady_clock::now();
  crash(b);
  // TTL 1 s + one heartbeat (0.2 s) at most, with room for a slow machine.
  ASSERT_TRUE(a.seen->wait_for(has_presence(only_b, offline), 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - crashed_at, 2500ms);
  EXPECT_EQ(await(a.broker->online_among({only_b, both})), std::vector<user_id>{both});
  EXPECT_EQ(count_presence(a.seen->snapshot(), both, offline), 0u);
  // The user reappears normally.
  EXPECT_TRUE(await(a.broker->socket_opened(only_b)));
}

TEST_P(redis_broker, each_offline_of_a_crash_is_announced_once) {
  auto& a = add_node();
  auto& b = add_node();
  auto& c = add_node();
  const auto u = user_id::generate();
  EXPECT_TRUE(await(c.broker->socket_opened(u)));
  crash(c);
  ASSERT_TRUE(a.seen->wait_for(has_presence(u, offline), 3s));
  ASSERT_TRUE(b.seen->wait_for(has_presence(u, offline), 3s));
  // Both survivors keep sweeping (every 200 ms): a second announcement would show within this bound.
  EXPECT_FALSE(a.seen->wait_for([&](const auto& es) { return count_presence(es, u, offline) > 1; }, 1500ms));
  EXPECT_EQ(count_presence(b.seen->snapshot(), u, offline), 1u);
}

TEST_P(redis_broker, stop_withdraws_this_nodes_presence_at_once) {
  auto s = settings();
  s.heartbeat_ttl = 30s;  // so that only the goodbye can explain a prompt offline
  auto& a = add_node(s);
  auto& b = add_node(s);
  const auto u = user_id::generate();
  const auto v = user_id::generate();
  EXPECT_TRUE(await(b.broker->socket_opened(u)));
  EXPECT_TRUE(await(b.broker->socket_opened(v)));
  EXPECT_FALSE(await(a.broker->socket_opened(v)));
  await(b.broker->stop());
  EXPECT_TRUE(a.seen->wait_for(has_presence(u, offline), 2s));
  EXPECT_EQ(await(a.broker->online_among({u, v})), std::vector<user_id>{v});
  EXPECT_EQ(count_presence(a.seen->snapshot(), v, offline), 0u);
  EXPECT_FALSE(b.broker->connected());
  EXPECT_FALSE(await(b.broker->check()));
}

TEST_P(redis_broker, garbage_on_a_topic_is_dropped_and_counted) {
  auto& a = add_node();
  const auto c = channel_id::generate();
  await(a.broker->subscribe(c));
  const auto topic = prefix_ + "ch:" + c.str();
  const auto before = metric(R"(signalink_broker_dropped_total{reason="undecodable"})");
  const std::string garbage[] = {"",
                                 "v1",
                                 "v2 message_created - 1 - online - 0\n",
                                 "\n\n\n",
                                 "v1 message_created " + c.str() + " x - online - 0\n",
                                 "v1 message_created " + c.str() + " 1 - online %zz 0\n",
                                 "v1 message_created " + c.str() + " 1 - online - 0\ntrailing",
                                 std::string("\xff\xfe\0\x01", 4)};
  for (const auto& g : garbage) redis_sync_command(*redis_test_url(), {"PUBLISH", topic, g});
  // A well-formed event of another channel on this channel's topic is refused too.
  const auto stray = broker::redis::detail::encode_event(message_event(channel_id::generate(), 7, "{}"));
  redis_sync_command(*redis_test_url(), {"PUBLISH", topic, stray});
  // And so is a kind on another kind's topic: a notification on a channel's.
  auto notice = message_event(c, 8, "{}");
  notice.kind = broker_event_kind::notification;
  redis_sync_command(*redis_test_url(), {"PUBLISH", topic, broker::redis::detail::encode_event(notice)});
  a.broker->publish(message_event(c, 1, "{}"));
  ASSERT_TRUE(a.seen->wait_for(has_seq(c, 1), 5s));
  EXPECT_EQ(a.seen->snapshot().size(), 1u);
  EXPECT_GE(metric(R"(signalink_broker_dropped_total{reason="undecodable"})") - before,
            static_cast<double>(std::size(garbage) + 2));
  EXPECT_GE(metric("signalink_broker_received_total"), 1.0);
  EXPECT_GE(metric("signalink_broker_published_total"), 1.0);
}

TEST_P(redis_broker, survives_a_redis_restart) {
  if (!redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
  redis_server server;
  auto& a = add_node(settings(server.url()));
  const auto c = channel_id::generate();
  const auto u = user_id::generate();
  await(a.broker->subscribe(c));
  EXPECT_TRUE(await(a.broker->socket_opened(u)));
  a.broker->viewer_added(c, u);
  EXPECT_EQ(metric("signalink_broker_connected"), static_cast<double>(nodes_.size()));
  const auto reconnects_before = metric("signalink_broker_reconnects_total");

  server.kill();
  ASSERT_TRUE(wait_until([&] { return !a.broker->connected(); }, 5s));
  const auto dropped_before = metric(R"(signalink_broker_dropped_total{reason="disconnected"})");
  const auto t0 = std::chrono::steady_clock::now();
  a.broker->publish(message_event(c, 1, "{}"));  // dropped, neither throws nor blocks
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 100ms);
  EXPECT_FALSE(await(a.broker->check(), 1500ms));
  // While down: subscribe completes at once and presence answers locally.
  const auto later = channel_id::generate();
  const auto v = user_id::generate();
  await(a.broker->subscribe(later), 500ms);
  EXPECT_TRUE(await(a.broker->socket_opened(v), 500ms));
  EXPECT_EQ(await(a.broker->online_among({u, v}), 500ms), (std::vector<user_id>{u, v}));
  a.broker->viewer_added(later, v);  // neither throws nor blocks
  EXPECT_EQ(await(a.broker->viewing_among(c, {u, v}), 500ms), std::vector<user_id>{u});
  EXPECT_EQ(await(a.broker->viewing_among(later, {u, v}), 500ms), std::vector<user_id>{v});
  EXPECT_TRUE(wait_until(
      [&] { return metric(R"(signalink_broker_dropped_total{reason="disconnected"})") > dropped_before; }, 2s));

  server.start();  // empty: every key was lost
  ASSERT_TRUE(a.seen->wait_reconnects(1, 10s));
  EXPECT_TRUE(a.broker->connected());
  EXPECT_TRUE(await(a.broker->check()));
  EXPECT_GE(metric("signalink_broker_reconnects_total"), reconnects_before + 1);
  // The node announced its users again (they had gone with Redis's data).
  EXPECT_TRUE(a.seen->wait_for(has_presence(u, presence_status::online), 5s));
  EXPECT_TRUE(a.seen->wait_for(has_presence(v, presence_status::online), 5s));

  // Subscriptions are back (both the old and the one made while down), as seen from another node.
  auto& b = add_node(settings(server.url()));
  b.broker->publish(message_event(c, 2, "{}"));
  b.broker->publish(message_event(later, 3, "{}"));
  EXPECT_TRUE(a.seen->wait_for(has_seq(c, 2), 5s));
  EXPECT_TRUE(a.seen->wait_for(has_seq(later, 3), 5s));
  // Presence counts are back in Redis.
  EXPECT_EQ(await(b.broker->online_among({u, v})), (std::vector<user_id>{u, v}));
  EXPECT_FALSE(await(b.broker->socket_opened(u)));
  // And so are the viewers, both the old one and the one added while down.
  EXPECT_EQ(await(b.broker->viewing_among(c, {u, v})), std::vector<user_id>{u});
  EXPECT_EQ(await(b.broker->viewing_among(later, {u, v})), std::vector<user_id>{v});
}

TEST_P(redis_broker, a_frozen_redis_fails_checks_by_the_deadline_and_is_detected_by_the_heartbeat) {
  if (!redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
  redis_server server;
  auto& a = add_node(settings(server.url()));
  const auto c = channel_id::generate();
  await(a.broker->subscribe(c));

  // A connection that stays open but never answers: check() gives up at its deadline.
  server.freeze();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(await(a.broker->check(), 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);  // command_timeout is 1 s
  server.thaw();
  ASSERT_TRUE(a.seen->wait_reconnects(1, 10s));
  EXPECT_TRUE(a.broker->connected());

  // Nobody calls check(): the heartbeat's deadline notices (interval 0.2 s + timeout 1 s).
  server.freeze();
  ASSERT_TRUE(wait_until([&] { return !a.broker->connected(); }, 3s));
  a.broker->publish(message_event(c, 1, "{}"));
  const auto u = user_id::generate();
  EXPECT_TRUE(await(a.broker->socket_opened(u), 3s));  // no hang: the local answer
  server.thaw();
  ASSERT_TRUE(a.seen->wait_reconnects(2, 10s));
  EXPECT_TRUE(a.broker->connected());
  a.broker->publish(message_event(c, 2, "{}"));
  EXPECT_TRUE(a.seen->wait_for(has_seq(c, 2), 5s));
  auto& b = add_node(settings(server.url()));
  EXPECT_EQ(await(b.broker->online_among({u})), std::vector<user_id>{u});
}

TEST_P(redis_broker, starts_while_redis_is_down_and_connects_when_it_comes) {
  if (!redis_server::available()) GTEST_SKIP() << "redis-server is not installed";
  redis_server server;
  server.kill();
  auto& a = add_node(settings(server.url()), false);
  const auto c = channel_id::generate();
  await(a.broker->subscribe(c), 500ms);  // at once while disconnected
  EXPECT_FALSE(a.broker->connected());
  EXPECT_FALSE(await(a.broker->check(), 1500ms));
  server.start();
  ASSERT_TRUE(a.seen->wait_reconnects(1, 10s));
  a.broker->publish(message_event(c, 1, "{}"));
  EXPECT_TRUE(a.seen->wait_for(has_seq(c, 1), 5s));
}

}  // namespace
}  // namespace sl::test
