// The broker port's contract (domain/broker.hpp), for every backend: what one
// node sees of its own publishes and of presence.

#include <string>
#include <thread>

#include "broker_fixture.hpp"

namespace sl::test {
namespace {

using domain::broker_event;
using domain::broker_event_kind;
using domain::presence_status;

using broker_contract = broker_fixture;

INSTANTIATE_TEST_SUITE_P(in_process, broker_contract, testing::Values(backend::in_process), backend_name);
// Empty without SIGNALINK_TEST_REDIS_URL: then it registers no test at all.
INSTANTIATE_TEST_SUITE_P(redis, broker_contract, testing::ValuesIn(redis_if_configured()), backend_name);

// JSON text with non-ASCII characters, escapes, a raw newline, a NUL byte and
// bytes that are not UTF-8: the frame must arrive byte for byte.
std::string awkward_frame() {
  std::string f = R"({"type":"message.created","content":"héllo ✓ 日本語 🎉","esc":"\"\\\n\u0000"})";
  f += '\n';
  static constexpr char tail[] = "\0\x01\x7f\x80\xfe\xff v1 - %";
  f.append(tail, sizeof tail - 1);
  return f;
}

TEST_P(broker_contract, names_itself_and_is_connected) {
  auto& n = add_node();
  EXPECT_EQ(n.broker->name(), GetParam() == backend::in_process ? "in_process" : "redis");
  EXPECT_TRUE(n.broker->connected());
  EXPECT_TRUE(await(n.broker->check()));
}

TEST_P(broker_contract, publish_reaches_on_event_with_every_field_intact) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  await(n.broker->subscribe(c));

  broker_event e;
  e.kind = broker_event_kind::membership_ended;
  e.channel = c;
  e.seq = 9'007'199'254'740'993;  // beyond a double's exact integers
  e.actor = user_id::generate();
  e.status = presence_status::offline;
  e.reason = "removed by an admin: 100% sure\n(ünïcode)";
  e.frame = std::make_shared<const std::string>(awkward_frame());
  n.broker->publish(e);

  ASSERT_TRUE(n.seen->wait_for([](const auto& es) { return !es.empty(); }, 5s));
  const auto got = n.seen->snapshot();
  ASSERT_EQ(got.size(), 1u);
  const auto& r = got.front();
  EXPECT_EQ(r.kind, e.kind);
  EXPECT_EQ(r.channel, e.channel);
  EXPECT_EQ(r.seq, e.seq);
  EXPECT_EQ(r.actor, e.actor);
  EXPECT_EQ(r.status, e.status);
  EXPECT_EQ(r.reason, e.reason);
  ASSERT_TRUE(r.frame);
  EXPECT_EQ(*r.frame, *e.frame);
}

TEST_P(broker_contract, every_kind_round_trips_and_presence_goes_without_a_frame) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  await(n.broker->subscribe(c));
  const broker_event_kind kinds[] = {broker_event_kind::message_created,  broker_event_kind::message_updated,
                                     broker_event_kind::message_deleted,  broker_event_kind::typing,
                                     broker_event_kind::membership_ended, broker_event_kind::channel_deleted};
  std::int64_t seq = 0;
  for (const auto k : kinds) {
    auto e = message_event(c, ++seq, "{}");
    e.kind = k;
    n.broker->publish(e);
  }
  broker_event p;
  p.kind = broker_event_kind::presence;
  p.actor = user_id::generate();
  p.status = presence_status::online;
  n.broker->publish(p);

  ASSERT_TRUE(n.seen->wait_for([](const auto& es) { return es.size() == 7; }, 5s));
  const auto got = n.seen->snapshot();
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(got[i].kind, kinds[i]);
    EXPECT_EQ(got[i].seq, static_cast<std::int64_t>(i + 1));
    ASSERT_TRUE(got[i].frame);
    EXPECT_EQ(*got[i].frame, "{}");
  }
  EXPECT_EQ(got[6].kind, broker_event_kind::presence);
  EXPECT_EQ(got[6].actor, p.actor);
  EXPECT_EQ(got[6].status, presence_status::online);
  EXPECT_TRUE(got[6].channel.value.is_nil());
  EXPECT_FALSE(got[6].frame);
}

TEST_P(broker_contract, events_published_from_one_thread_arrive_in_order) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  await(n.broker->subscribe(c));
  constexpr int count = 500;
  for (int i = 1; i <= count; ++i) n.broker->publish(message_event(c, i, "{\"n\":" + std::to_string(i) + "}"));
  ASSERT_TRUE(n.seen->wait_for([](const auto& es) { return es.size() == count; }, 10s));
  const auto got = n.seen->snapshot();
  for (int i = 0; i < count; ++i) ASSERT_EQ(got[i].seq, i + 1) << "at " << i;
}

TEST_P(broker_contract, presence_counts_sockets_first_and_last) {
  auto& n = add_node();
  const auto u = user_id::generate();
  EXPECT_TRUE(await(n.broker->socket_opened(u)));
  EXPECT_FALSE(await(n.broker->socket_opened(u)));
  EXPECT_FALSE(await(n.broker->socket_closed(u)));
  EXPECT_TRUE(await(n.broker->socket_closed(u)));
  // A close with no open socket is not a transition.
  EXPECT_FALSE(await(n.broker->socket_closed(u)));
  EXPECT_TRUE(await(n.broker->socket_opened(u)));
}

TEST_P(broker_contract, online_among_keeps_users_with_a_socket_in_order) {
  auto& n = add_node();
  const auto a = user_id::generate();
  const auto b = user_id::generate();
  const auto c = user_id::generate();
  EXPECT_TRUE(await(n.broker->socket_opened(c)));
  EXPECT_TRUE(await(n.broker->socket_opened(a)));
  EXPECT_EQ(await(n.broker->online_among({a, b, c})), (std::vector<user_id>{a, c}));
  EXPECT_TRUE(await(n.broker->socket_closed(a)));
  EXPECT_EQ(await(n.broker->online_among({a, b, c})), (std::vector<user_id>{c}));
  EXPECT_TRUE(await(n.broker->online_among({})).empty());
}

TEST_P(broker_contract, a_notification_reaches_on_event_without_a_channel) {
  auto& n = add_node();
  broker_event e;
  e.kind = broker_event_kind::notification;
  e.actor = user_id::generate();
  e.frame = std::make_shared<const std::string>(R"({"type":"notification.new","notification":{"count":1}})");
  n.broker->publish(e);  // no subscription needed: it goes to every node
  ASSERT_TRUE(n.seen->wait_for([](const auto& es) { return !es.empty(); }, 5s));
  const auto got = n.seen->snapshot();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].kind, broker_event_kind::notification);
  EXPECT_EQ(got[0].actor, e.actor);
  EXPECT_TRUE(got[0].channel.value.is_nil());
  ASSERT_TRUE(got[0].frame);
  EXPECT_EQ(*got[0].frame, *e.frame);
}

TEST_P(broker_contract, viewers_are_counted_per_socket) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  const auto u = user_id::generate();
  EXPECT_TRUE(await(n.broker->viewing_among(c, {u})).empty());
  n.broker->viewer_added(c, u);
  n.broker->viewer_added(c, u);
  n.broker->viewer_removed(c, u);
  EXPECT_EQ(await(n.broker->viewing_among(c, {u})), std::vector<user_id>{u});
  n.broker->viewer_removed(c, u);
  EXPECT_TRUE(await(n.broker->viewing_among(c, {u})).empty());
  // A removal with no subscription left is ignored: it does not go negative.
  n.broker->viewer_removed(c, u);
  n.broker->viewer_added(c, u);
  EXPECT_EQ(await(n.broker->viewing_among(c, {u})), std::vector<user_id>{u});
}

TEST_P(broker_contract, viewers_are_per_channel_and_keep_the_order_asked) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  const auto other = channel_id::generate();
  const auto a = user_id::generate();
  const auto b = user_id::generate();
  const auto z = user_id::generate();
  n.broker->viewer_added(c, z);
  n.broker->viewer_added(c, a);
  n.broker->viewer_added(other, b);
  EXPECT_EQ(await(n.broker->viewing_among(c, {a, b, z})), (std::vector<user_id>{a, z}));
  EXPECT_EQ(await(n.broker->viewing_among(other, {a, b, z})), std::vector<user_id>{b});
  EXPECT_TRUE(await(n.broker->viewing_among(channel_id::generate(), {a, b, z})).empty());
  EXPECT_TRUE(await(n.broker->viewing_among(c, {})).empty());
}

TEST_P(broker_contract, claim_once_admits_each_key_once_until_it_expires) {
  auto& n = add_node();
  const auto key = "ticket:" + uuid::v7().str();
  EXPECT_TRUE(await(n.broker->claim_once(key, 300ms)));
  EXPECT_FALSE(await(n.broker->claim_once(key, 300ms)));
  EXPECT_TRUE(await(n.broker->claim_once(key + "-other", 300ms)));
  std::this_thread::sleep_for(400ms);  // the claim's own expiry is what is tested
  EXPECT_TRUE(await(n.broker->claim_once(key, 300ms)));
}

TEST_P(broker_contract, stop_ends_delivery_and_is_idempotent) {
  auto& n = add_node();
  const auto c = channel_id::generate();
  await(n.broker->subscribe(c));
  n.broker->publish(message_event(c, 1, "{}"));
  ASSERT_TRUE(n.seen->wait_for([](const auto& es) { return es.size() == 1; }, 5s));
  await(n.broker->stop());
  await(n.broker->stop());
  n.broker->publish(message_event(c, 2, "{}"));  // neither throws nor delivers
  EXPECT_EQ(n.seen->snapshot().size(), 1u);
}

}  // namespace
}  // namespace sl::test
