// Store contract: the outbox as the relay's queue and as the database event
// log, the relay lease, and consumer groups' positions and processed events.

#include <algorithm>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "base/trace_context.hpp"
#include "net/traced_executor.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

using domain::log_event;

log_event event_on(std::string topic, std::string key, timestamp at) {
  log_event e;
  e.id = event_id::generate();
  e.topic = std::move(topic);
  e.key = std::move(key);
  e.event_type = "presence.online";
  e.payload = R"({"event_id":")" + e.id.str() + R"(","event_type":"presence.online","note":"ü"})";
  e.created_at = at;
  return e;
}

// Timestamps for traced_writes, one per write.
struct write_times {
  timestamp user, bob, channel, member, message, edit;
};

// One coroutine's writes of every kind that stores a single event (the
// statements differ per kind on PostgreSQL), run in the span `span`.
task<void> traced_writes(domain::store* db, trace_context span, write_times at) {
  begin_span(span);
  domain::new_user ann{user_id::generate(), "ann", "ann@example.com", "h", std::nullopt, at.user};
  domain::new_user bob{user_id::generate(), "bob", "bob@example.com", "h", std::nullopt, at.bob};
  domain::new_channel ch{channel_id::generate(), "traced",  std::nullopt, false, ann.id,
                         member_id::generate(),  at.channel};
  domain::new_member joined{member_id::generate(), ch.id, bob.id, domain::role::member, ann.id, at.member};
  domain::new_message m;
  m.id = message_id::generate();
  m.channel = ch.id;
  m.author = ann.id;
  m.content = "hello";
  m.metadata = nullptr;
  m.now = at.message;
  const auto id = m.id;
  const auto made_ann = co_await db->create_user(ann);
  const auto made_bob = co_await db->create_user(bob);
  const auto made_channel = co_await db->create_channel(ch);
  const auto member = co_await db->add_member(joined);
  const auto sent = co_await db->create_message(std::move(m));
  const auto edited = co_await db->edit_message(id, "hello again", ann.id, at.edit);
  EXPECT_TRUE(made_ann.ok() && made_bob.ok() && made_channel.ok() && member.ok() && sent.ok());
  EXPECT_TRUE(edited.has_value());
}

std::vector<std::int64_t> ids_of(const std::vector<domain::outbox_row>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

TEST_P(store_contract, unpublished_outbox_lists_write_events_oldest_first) {
  auto ann = make_user("ann");
  auto ch = make_channel(ann, "general");
  send(ann, ch, "one");
  send(ann, ch, "two");
  auto rows = run(db().unpublished_outbox(100));
  std::vector<std::string> types;
  for (const auto& r : rows) types.push_back(r.event.event_type);
  EXPECT_EQ(types,
            (std::vector<std::string>{"user.registered", "channel.created", "message.created", "message.created"}));
  const auto ids = ids_of(rows);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_EQ(rows[2].event.topic, "signalink.messages");
  EXPECT_EQ(rows[2].event.key, ch.id.str());
  EXPECT_NE(rows[2].event.payload.find("\"seq\":1"), std::string::npos);
  EXPECT_EQ(run(db().unpublished_outbox(2)).size(), 2u);
}

TEST_P(store_contract, outbox_events_carry_the_span_of_the_coroutine_that_wrote_them) {
  const auto span = trace_context::fresh();
  const write_times at{tick(), tick(), tick(), tick(), tick(), tick()};
  auto done =
      boost::asio::co_spawn(net::traced(ctx_.get_executor()), traced_writes(&db(), span, at), boost::asio::use_future);
  ctx_.restart();
  ctx_.run();
  done.get();
  make_user("cyd");  // outside any trace

  auto rows = run(db().unpublished_outbox(100));
  std::vector<std::string> types;
  for (const auto& r : rows) types.push_back(r.event.event_type);
  ASSERT_EQ(types, (std::vector<std::string>{"user.registered", "user.registered", "channel.created", "member.added",
                                             "message.created", "message.edited", "user.registered"}));
  for (std::size_t i = 0; i + 1 < rows.size(); ++i) EXPECT_EQ(rows[i].event.traceparent, span.traceparent()) << i;
  EXPECT_EQ(rows.back().event.traceparent, "");
  // The database log reads it back too.
  run(db().mark_published(ids_of(rows), tick()));
  const auto log = run(db().read_log({"signalink.messages", "signalink.analytics"}, 0, 100));
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.front().traceparent, span.traceparent());
}

TEST_P(store_contract, mark_published_gives_consecutive_positions_in_the_order_given) {
  auto ann = make_user("ann");
  auto ch = make_channel(ann, "general");
  send(ann, ch, "one");
  auto rows = run(db().unpublished_outbox(100));
  ASSERT_EQ(rows.size(), 3u);
  run(db().mark_published(ids_of(rows), tick()));
  EXPECT_TRUE(run(db().unpublished_outbox(100)).empty());

  const std::vector<std::string> all{"signalink.messages", "signalink.analytics"};
  auto log = run(db().read_log(all, 0, 100));
  ASSERT_EQ(log.size(), 3u);
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].offset, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(log[i].id, rows[i].event.id);
    EXPECT_EQ(log[i].payload, rows[i].event.payload);
  }
  EXPECT_EQ(run(db().read_log({"signalink.messages"}, 0, 100)).size(), 1u);
  EXPECT_EQ(run(db().read_log(all, 2, 100)).size(), 1u);
  EXPECT_EQ(run(db().count_log(all, 1)), 2);

  // The next batch continues after the last position.
  send(ann, ch, "two");
  auto more = run(db().unpublished_outbox(100));
  ASSERT_EQ(more.size(), 1u);
  run(db().mark_published(ids_of(more), tick()));
  auto tail = run(db().read_log(all, 3, 100));
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].offset, 4);
}

TEST_P(store_contract, pending_outbox_counts_unpublished_rows_and_dates_the_oldest) {
  auto empty = run(db().pending_outbox());
  EXPECT_EQ(empty.events, 0);
  EXPECT_FALSE(empty.oldest);
  const auto first = tick();
  run(db().append_outbox({event_on("t", "k", first), event_on("t", "k", tick()), event_on("t", "k", tick())}));
  auto rows = run(db().unpublished_outbox(100));
  ASSERT_EQ(rows.size(), 3u);
  auto all = run(db().pending_outbox());
  EXPECT_EQ(all.events, 3);
  EXPECT_EQ(all.oldest, std::optional<timestamp>(first));
  run(db().mark_published({rows[0].id}, tick()));
  auto rest = run(db().pending_outbox());
  EXPECT_EQ(rest.events, 2);
  EXPECT_EQ(rest.oldest, std::optional<timestamp>(rows[1].event.created_at));
}

TEST_P(store_contract, append_outbox_skips_a_repeated_event_but_not_its_dead_letter) {
  auto e = event_on("signalink.presence", user_id::generate().str(), tick());
  run(db().append_outbox({e, e}));
  auto dead = e;
  dead.topic = "signalink.presence.dlq";
  run(db().append_outbox({dead}));
  auto rows = run(db().unpublished_outbox(100));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].event.topic, "signalink.presence");
  EXPECT_EQ(rows[0].event.payload, e.payload);
  EXPECT_EQ(rows[0].event.created_at, e.created_at);
  EXPECT_EQ(rows[1].event.topic, "signalink.presence.dlq");
  EXPECT_EQ(rows[1].event.id, e.id);
}

TEST_P(store_contract, prune_outbox_removes_only_rows_published_before) {
  run(db().append_outbox({event_on("t", "k", tick()), event_on("t", "k", tick())}));
  auto rows = run(db().unpublished_outbox(100));
  const auto early = tick();
  run(db().mark_published({rows[0].id}, early));
  run(db().append_outbox({event_on("t", "k", tick())}));
  EXPECT_EQ(run(db().prune_outbox(tick())), 1);
  EXPECT_EQ(run(db().unpublished_outbox(100)).size(), 2u);
  EXPECT_TRUE(run(db().read_log({"t"}, 0, 100)).empty());
}

TEST_P(store_contract, the_relay_lease_has_one_holder_until_it_expires) {
  using namespace std::chrono_literals;
  EXPECT_TRUE(run(db().hold_relay_lease("a", 300ms)));
  EXPECT_FALSE(run(db().hold_relay_lease("b", 300ms)));
  EXPECT_TRUE(run(db().hold_relay_lease("a", 300ms)));  // renewed
  std::this_thread::sleep_for(400ms);                   // the lease's own expiry is what is tested
  EXPECT_TRUE(run(db().hold_relay_lease("b", 300ms)));
  EXPECT_FALSE(run(db().hold_relay_lease("a", 300ms)));
  run(db().release_relay_lease("a"));  // not a's to give
  EXPECT_FALSE(run(db().hold_relay_lease("a", 300ms)));
  run(db().release_relay_lease("b"));
  EXPECT_TRUE(run(db().hold_relay_lease("a", 300ms)));
}

TEST_P(store_contract, group_positions_start_at_zero_and_never_move_back) {
  EXPECT_EQ(run(db().group_position("g")), 0);
  run(db().commit_group_position("g", 5, tick()));
  EXPECT_EQ(run(db().group_position("g")), 5);
  run(db().commit_group_position("g", 3, tick()));
  EXPECT_EQ(run(db().group_position("g")), 5);
  EXPECT_EQ(run(db().group_position("other")), 0);
}

TEST_P(store_contract, processed_events_are_remembered_per_group_until_pruned) {
  const auto a = event_id::generate();
  const auto b = event_id::generate();
  EXPECT_TRUE(run(db().processed_among("g", {a, b})).empty());
  run(db().record_processed("g", {a}, tick()));
  run(db().record_processed("g", {a}, tick()));  // twice is fine
  EXPECT_EQ(run(db().processed_among("g", {a, b})), std::vector<event_id>{a});
  EXPECT_TRUE(run(db().processed_among("h", {a, b})).empty());
  const auto later = tick();
  run(db().record_processed("g", {b}, tick()));
  EXPECT_EQ(run(db().prune_processed(later)), 1);
  EXPECT_EQ(run(db().processed_among("g", {a, b})), std::vector<event_id>{b});
}

}  // namespace
}  // namespace sl::test
