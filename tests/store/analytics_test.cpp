// Store contract: analytics (domain/analytics_store.hpp). Facts stored once
// by event id with the consumer position, pending windows, metrics rows
// recomputed from a window's facts, presence carried over between windows,
// pruning, and the period queries. Windows of 10 s from a fixed instant.

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <cmath>
#include <cstdio>
#include <set>

#include "store_fixture.hpp"

namespace sl::test {
namespace {

namespace an = domain::analytics;
using an::message_action;
using an::presence_action;
using domain::message_type;

constexpr int window_seconds = 10;

timestamp t0() { return *parse_iso("2026-01-01T00:00:00Z"); }
timestamp at(double seconds) { return t0() + std::chrono::microseconds(std::llround(seconds * 1e6)); }
an::window window_at(int start_seconds) {
  return an::window{t0() + std::chrono::seconds(start_seconds), window_seconds};
}

// Ids that sort in the order of `n`.
template <typename Id>
Id fixed(int n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-7000-8000-%012d", n);
  return *Id::parse(text);
}

an::fact message(message_action a, double seconds, channel_id c, std::optional<user_id> u,
                 message_id m = message_id::generate(), message_type type = message_type::text) {
  an::message_fact f;
  f.id = event_id::generate();
  f.at = at(seconds);
  f.action = a;
  f.message = m;
  f.channel = c;
  f.user = u;
  f.type = type;
  return f;
}

an::fact created(double seconds, channel_id c, std::optional<user_id> u, message_type type = message_type::text,
                 message_id m = message_id::generate()) {
  return message(message_action::created, seconds, c, u, m, type);
}

an::fact edited(double seconds, channel_id c, user_id u, message_id m = message_id::generate()) {
  return message(message_action::edited, seconds, c, u, m);
}

an::fact deleted(double seconds, channel_id c, user_id u, message_id m = message_id::generate()) {
  return message(message_action::deleted, seconds, c, u, m);
}

an::fact presence(presence_action a, double seconds, user_id u) {
  an::presence_fact f;
  f.id = event_id::generate();
  f.at = at(seconds);
  f.action = a;
  f.user = u;
  return f;
}

an::fact online(double seconds, user_id u) { return presence(presence_action::online, seconds, u); }
an::fact offline(double seconds, user_id u) { return presence(presence_action::offline, seconds, u); }

an::fact sockets(double seconds, std::string node, std::int64_t n) {
  an::presence_fact f;
  f.id = event_id::generate();
  f.at = at(seconds);
  f.action = presence_action::sockets;
  f.node = std::move(node);
  f.sockets = n;
  return f;
}

using counts = std::vector<std::int64_t>;

// message_count, active_users, unique_senders, active_channels, text, image, file, system
counts counts_of(const an::message_metrics& m) {
  return {m.message_count,       m.active_users_count,   m.unique_senders_count, m.active_channels_count,
          m.text_messages_count, m.image_messages_count, m.file_messages_count,  m.system_messages_count};
}
// message_count, unique_senders, created, edited, deleted
counts counts_of(const an::channel_metrics& m) {
  return {m.message_count, m.unique_senders_count, m.created_count, m.edited_count, m.deleted_count};
}
// sent, edited, deleted, channels_active
counts counts_of(const an::user_metrics& m) {
  return {m.messages_sent, m.messages_edited, m.messages_deleted, m.channels_active};
}
// online, connected, disconnected, sockets_peak
counts counts_of(const an::presence_metrics& m) {
  return {m.users_online, m.users_connected, m.users_disconnected, m.sockets_peak};
}
// message_count, edited, deleted, unique_senders, windows
counts counts_of(const an::channel_total& t) {
  return {t.message_count, t.edited_count, t.deleted_count, t.unique_senders_count, t.windows};
}
// sent, edited, deleted, channels_active, windows
counts counts_of(const an::user_total& t) {
  return {t.messages_sent, t.messages_edited, t.messages_deleted, t.channels_active, t.windows};
}

template <typename Row>
std::vector<counts> all_counts(const std::vector<Row>& rows) {
  std::vector<counts> out;
  for (const auto& r : rows) out.push_back(counts_of(r));
  return out;
}

template <typename Row>
std::vector<timestamp> windows_of(const std::vector<Row>& rows) {
  std::vector<timestamp> out;
  for (const auto& r : rows) out.push_back(r.time_window);
  return out;
}

std::vector<timestamp> starts_of(const std::vector<an::window>& ws) {
  std::vector<timestamp> out;
  for (const auto& w : ws) {
    EXPECT_EQ(w.seconds, window_seconds);
    out.push_back(w.start);
  }
  return out;
}

template <typename Id, typename Total>
std::vector<Id> ids_of(const std::vector<Total>& totals, Id Total::*member) {
  std::vector<Id> out;
  for (const auto& t : totals) out.push_back(t.*member);
  return out;
}

TEST_P(store_contract, analytics_window_rows_are_computed_from_its_facts) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2), u3 = fixed<user_id>(3);
  const auto c1 = fixed<channel_id>(1), c2 = fixed<channel_id>(2);
  const auto m1 = message_id::generate(), m7 = message_id::generate();
  const std::vector<an::fact> facts{
      // Window A, [0 s, 10 s).
      created(1, c1, u1, message_type::text, m1), created(2, c1, u1, message_type::image),
      created(3, c1, u2, message_type::file), created(4, c2, u2, message_type::system),
      created(5, c2, u3, message_type::text), edited(6, c1, u1, m1),
      created(7.5, c2, std::nullopt,
              message_type::text),  // a deleted author: no user
                                    // Window B, [10 s, 20 s): m1, created in A, deleted here by u3.
      deleted(12, c1, u3, m1), created(13, c2, u2, message_type::text, m7), edited(14, c2, u2, m7)};
  EXPECT_EQ(run(a.record_facts(facts, window_seconds, std::nullopt)), 10);
  EXPECT_EQ(starts_of(run(a.pending_windows(at(20), 10))), (std::vector<timestamp>{at(0), at(10)}));

  const auto now = at(30);
  run(a.write_window(window_at(0), now));
  run(a.write_window(window_at(10), now));
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());

  const auto mm = run(a.message_metrics(t0(), 100));
  ASSERT_EQ(mm.size(), 2u);
  EXPECT_EQ(windows_of(mm), (std::vector<timestamp>{at(10), at(0)}));  // newest first
  EXPECT_EQ(counts_of(mm[1]), (counts{6, 3, 3, 2, 3, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(mm[1].messages_per_second, 0.6);
  EXPECT_EQ(counts_of(mm[0]), (counts{1, 2, 1, 2, 1, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(mm[0].messages_per_second, 0.1);
  for (const auto& m : mm) {
    EXPECT_EQ(m.window_duration_seconds, window_seconds);
    EXPECT_EQ(m.created_at, now);
    EXPECT_EQ(m.id.str()[14], '7') << "a UUIDv7: " << m.id.str();
  }
  EXPECT_NE(mm[0].id, mm[1].id);

  const auto ch1 = run(a.channel_metrics(c1, t0()));
  ASSERT_EQ(ch1.size(), 2u);
  EXPECT_EQ(windows_of(ch1), (std::vector<timestamp>{at(10), at(0)}));
  EXPECT_EQ(all_counts(ch1), (std::vector<counts>{{0, 0, 0, 0, 1}, {3, 2, 3, 1, 0}}));
  EXPECT_DOUBLE_EQ(ch1[1].messages_per_second, 0.3);
  EXPECT_DOUBLE_EQ(ch1[0].messages_per_second, 0.0);
  EXPECT_EQ(ch1[0].channel, c1);
  EXPECT_EQ(ch1[0].created_at, now);
  EXPECT_NE(ch1[0].id, ch1[1].id);
  EXPECT_EQ(ch1[0].id.str()[14], '7') << "a UUIDv7: " << ch1[0].id.str();
  const auto ch2 = run(a.channel_metrics(c2, t0()));
  EXPECT_EQ(all_counts(ch2), (std::vector<counts>{{1, 1, 1, 1, 0}, {3, 2, 3, 0, 0}}));
  ASSERT_EQ(ch2.size(), 2u);
  EXPECT_DOUBLE_EQ(ch2[0].messages_per_second, 0.1);

  EXPECT_EQ(all_counts(run(a.user_metrics(u1, t0()))), (std::vector<counts>{{2, 1, 0, 1}}));
  EXPECT_EQ(all_counts(run(a.user_metrics(u2, t0()))), (std::vector<counts>{{1, 1, 0, 1}, {2, 0, 0, 2}}));
  const auto r3 = run(a.user_metrics(u3, t0()));
  EXPECT_EQ(all_counts(r3), (std::vector<counts>{{0, 0, 1, 0}, {1, 0, 0, 1}}));
  EXPECT_EQ(windows_of(r3), (std::vector<timestamp>{at(10), at(0)}));
  ASSERT_FALSE(r3.empty());
  EXPECT_EQ(r3[0].user, u3);
  EXPECT_EQ(r3[0].window_duration_seconds, window_seconds);

  // No presence fact, no presence row; `since` cuts older windows.
  EXPECT_TRUE(run(a.presence_metrics(t0(), 100)).empty());
  EXPECT_EQ(windows_of(run(a.message_metrics(at(10), 100))), (std::vector<timestamp>{at(10)}));
  EXPECT_EQ(run(a.message_metrics(t0(), 1)).size(), 1u);
  EXPECT_EQ(run(a.channel_metrics(c1, at(10))).size(), 1u);
}

TEST_P(store_contract, analytics_a_window_of_only_edits_and_deletes_gets_its_rows) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2);
  const auto c1 = fixed<channel_id>(1);
  EXPECT_EQ(run(a.record_facts({edited(21, c1, u1), deleted(22, c1, u2)}, window_seconds, std::nullopt)), 2);
  run(a.write_window(window_at(20), at(40)));

  const auto mm = run(a.message_metrics(t0(), 100));
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(mm[0].time_window, at(20));
  EXPECT_EQ(counts_of(mm[0]), (counts{0, 2, 0, 1, 0, 0, 0, 0}));
  EXPECT_DOUBLE_EQ(mm[0].messages_per_second, 0.0);
  EXPECT_EQ(all_counts(run(a.channel_metrics(c1, t0()))), (std::vector<counts>{{0, 0, 0, 1, 1}}));
  EXPECT_EQ(all_counts(run(a.user_metrics(u1, t0()))), (std::vector<counts>{{0, 1, 0, 0}}));
  EXPECT_EQ(all_counts(run(a.user_metrics(u2, t0()))), (std::vector<counts>{{0, 0, 1, 0}}));
}

TEST_P(store_contract, analytics_redelivered_facts_add_nothing_and_rewriting_changes_no_count) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2);
  const auto c1 = fixed<channel_id>(1);
  const auto once = created(1, c1, u1);
  const std::vector<an::fact> facts{
      once, once, created(2, c1, u2), edited(3, c1, u2), online(4, u1), sockets(5, "n1", 7)};
  EXPECT_EQ(run(a.record_facts(facts, window_seconds, std::nullopt)), 5);  // `once` twice in one batch
  run(a.write_window(window_at(0), at(20)));
  const auto mm = run(a.message_metrics(t0(), 100));
  const auto cm = run(a.channel_metrics(c1, t0()));
  const auto um = run(a.user_metrics(u2, t0()));
  const auto pm = run(a.presence_metrics(t0(), 100));
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(counts_of(mm[0]), (counts{2, 2, 2, 1, 2, 0, 0, 0}));
  EXPECT_EQ(all_counts(pm), (std::vector<counts>{{1, 1, 0, 7}}));

  // Delivered again: nothing new, the window stays written.
  EXPECT_EQ(run(a.record_facts(facts, window_seconds, std::nullopt)), 0);
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());

  // Written again (two writers, a crash mid-way): the same rows, new ids.
  run(a.write_window(window_at(0), at(20)));
  const auto mm2 = run(a.message_metrics(t0(), 100));
  ASSERT_EQ(mm2.size(), 1u);
  EXPECT_EQ(counts_of(mm2[0]), counts_of(mm[0]));
  EXPECT_DOUBLE_EQ(mm2[0].messages_per_second, mm[0].messages_per_second);
  EXPECT_EQ(mm2[0].created_at, mm[0].created_at);
  EXPECT_NE(mm2[0].id, mm[0].id);
  EXPECT_EQ(all_counts(run(a.channel_metrics(c1, t0()))), all_counts(cm));
  EXPECT_EQ(all_counts(run(a.user_metrics(u2, t0()))), all_counts(um));
  EXPECT_EQ(all_counts(run(a.presence_metrics(t0(), 100))), all_counts(pm));
}

TEST_P(store_contract, analytics_a_straggler_makes_its_window_pending_and_is_counted_once) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2);
  const auto c1 = fixed<channel_id>(1), c2 = fixed<channel_id>(2);
  run(a.record_facts({created(1, c1, u1), created(2, c1, u1)}, window_seconds, std::nullopt));
  run(a.write_window(window_at(0), at(15)));
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());
  ASSERT_EQ(run(a.message_metrics(t0(), 100)).size(), 1u);
  EXPECT_EQ(counts_of(run(a.message_metrics(t0(), 100))[0]), (counts{2, 1, 1, 1, 2, 0, 0, 0}));

  // Late events of the written window.
  EXPECT_EQ(run(a.record_facts({created(3, c2, u1), created(9.999, c1, u2)}, window_seconds, std::nullopt)), 2);
  EXPECT_EQ(starts_of(run(a.pending_windows(at(1000), 10))), (std::vector<timestamp>{at(0)}));
  run(a.write_window(window_at(0), at(60)));
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());

  const auto mm = run(a.message_metrics(t0(), 100));
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(counts_of(mm[0]), (counts{4, 2, 2, 2, 4, 0, 0, 0}));
  EXPECT_EQ(mm[0].created_at, at(60));
  EXPECT_EQ(all_counts(run(a.channel_metrics(c1, t0()))), (std::vector<counts>{{3, 2, 3, 0, 0}}));
  EXPECT_EQ(all_counts(run(a.channel_metrics(c2, t0()))), (std::vector<counts>{{1, 1, 1, 0, 0}}));
  EXPECT_EQ(all_counts(run(a.user_metrics(u1, t0()))), (std::vector<counts>{{3, 0, 0, 2}}));
  EXPECT_EQ(all_counts(run(a.user_metrics(u2, t0()))), (std::vector<counts>{{1, 0, 0, 1}}));
}

task<void> record_counting(domain::analytics_store* a, std::vector<an::fact> facts, std::int64_t* added) {
  *added += co_await a->record_facts(std::move(facts), window_seconds, std::nullopt);
}

task<void> write_then_flag(domain::analytics_store* a, an::window w, timestamp now, int* writes) {
  co_await a->write_window(w, now);
  ++*writes;
}

TEST_P(store_contract, analytics_concurrent_overlapping_batches_count_each_event_once) {
  auto& a = db().analytics();
  const auto c = fixed<channel_id>(1);
  std::vector<an::fact> facts;
  for (int i = 0; i < 40; ++i) facts.push_back(created(i % 10 + 0.5, c, fixed<user_id>(i % 4)));
  std::int64_t added = 0;
  int writes = 0;
  int failures = 0;
  const auto on_done = [&failures](const std::exception_ptr& e) {
    if (e) ++failures;
  };
  // Four batches holding every event, in different orders, with window
  // writes racing them.
  for (std::ptrdiff_t b = 0; b < 4; ++b) {
    auto batch = facts;
    std::rotate(batch.begin(), batch.begin() + b * 10, batch.end());
    if (b % 2 == 1) std::reverse(batch.begin(), batch.end());
    boost::asio::co_spawn(ctx_, record_counting(&a, std::move(batch), &added), on_done);
    boost::asio::co_spawn(ctx_, write_then_flag(&a, window_at(0), at(20), &writes), on_done);
  }
  ctx_.restart();
  ctx_.run();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(added, 40);
  EXPECT_EQ(writes, 4);
  // Whatever a racing write missed left the window pending.
  for (const auto& w : run(a.pending_windows(at(1000), 10))) run(a.write_window(w, at(30)));
  const auto mm = run(a.message_metrics(t0(), 100));
  ASSERT_EQ(mm.size(), 1u);
  EXPECT_EQ(counts_of(mm[0]), (counts{40, 4, 4, 1, 40, 0, 0, 0}));
}

TEST_P(store_contract, analytics_pending_windows_are_those_ended_oldest_first) {
  auto& a = db().analytics();
  const auto u = fixed<user_id>(1);
  const auto c = fixed<channel_id>(1);
  run(a.record_facts({created(25, c, u), created(45, c, u), created(5, c, u), created(15, c, u), created(16, c, u)},
                     window_seconds, std::nullopt));
  EXPECT_TRUE(run(a.pending_windows(at(9.999999), 10)).empty());
  EXPECT_EQ(starts_of(run(a.pending_windows(at(10), 10))), (std::vector<timestamp>{at(0)}));
  EXPECT_EQ(starts_of(run(a.pending_windows(at(29.999999), 10))), (std::vector<timestamp>{at(0), at(10)}));
  EXPECT_EQ(starts_of(run(a.pending_windows(at(30), 10))), (std::vector<timestamp>{at(0), at(10), at(20)}));
  EXPECT_EQ(starts_of(run(a.pending_windows(at(100), 2))), (std::vector<timestamp>{at(0), at(10)}));
  EXPECT_EQ(starts_of(run(a.pending_windows(at(100), 10))), (std::vector<timestamp>{at(0), at(10), at(20), at(40)}));
  run(a.write_window(window_at(10), at(100)));
  EXPECT_EQ(starts_of(run(a.pending_windows(at(100), 10))), (std::vector<timestamp>{at(0), at(20), at(40)}));
  EXPECT_THROW(run(a.record_facts({created(1, c, u)}, 0, std::nullopt)), std::invalid_argument);
}

TEST_P(store_contract, analytics_group_position_commits_with_the_facts_and_never_moves_back) {
  auto& a = db().analytics();
  const auto u = fixed<user_id>(1);
  const auto c = fixed<channel_id>(1);
  const std::string group = "analytics-consumers";
  const auto first = created(1, c, u);
  EXPECT_EQ(run(a.record_facts({first}, window_seconds, domain::group_position{group, 42})), 1);
  EXPECT_EQ(run(db().group_position(group)), 42);
  // A redelivered batch still moves the position on.
  EXPECT_EQ(run(a.record_facts({first}, window_seconds, domain::group_position{group, 43})), 0);
  EXPECT_EQ(run(db().group_position(group)), 43);
  EXPECT_EQ(run(a.record_facts({created(2, c, u)}, window_seconds, domain::group_position{group, 17})), 1);
  EXPECT_EQ(run(db().group_position(group)), 43);
  EXPECT_EQ(run(a.record_facts({}, window_seconds, domain::group_position{group, 50})), 0);
  EXPECT_EQ(run(db().group_position(group)), 50);
  EXPECT_EQ(run(a.record_facts({created(3, c, u)}, window_seconds, std::nullopt)), 1);
  EXPECT_EQ(run(db().group_position(group)), 50);
  EXPECT_EQ(run(db().group_position("another-group")), 0);
}

TEST_P(store_contract, analytics_presence_carries_over_windows_and_sums_each_nodes_peak) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2), u3 = fixed<user_id>(3), u4 = fixed<user_id>(4);
  const std::vector<an::fact> facts{// A [0, 10): three come online, u3 leaves again; two nodes sampled.
                                    online(1, u1), online(2, u2), online(3, u3), offline(5, u3), sockets(1, "n1", 3),
                                    sockets(4, "n1", 5), sockets(8, "n1", 2), sockets(2, "n2", 4), sockets(6, "n2", 1),
                                    // B [10, 20): u2 leaves, u4 arrives; no samples.
                                    offline(12, u2), online(13, u4),
                                    // C [20, 30): u1 leaves.
                                    offline(25, u1)};
  EXPECT_EQ(run(a.record_facts(facts, window_seconds, std::nullopt)), 12);
  for (int start : {0, 10, 20}) run(a.write_window(window_at(start), at(40)));

  const auto pm = run(a.presence_metrics(t0(), 100));
  EXPECT_EQ(windows_of(pm), (std::vector<timestamp>{at(20), at(10), at(0)}));
  EXPECT_EQ(all_counts(pm), (std::vector<counts>{
                                {2, 0, 1, 0},  // C: u1 and u4 online from before
                                {3, 1, 1, 0},  // B: u1, u2 from before, u4 arriving
                                {3, 3, 1, 9},  // A: 5 on n1 + 4 on n2
                            }));
  ASSERT_EQ(pm.size(), 3u);
  EXPECT_EQ(pm[0].created_at, at(40));
  EXPECT_EQ(pm[0].window_duration_seconds, window_seconds);
  EXPECT_EQ(run(a.presence_metrics(t0(), 1)).size(), 1u);
  EXPECT_TRUE(run(a.message_metrics(t0(), 100)).empty());  // presence only: no message row
  EXPECT_EQ(run(a.users_online_now()), 1);                 // u4
}

TEST_P(store_contract, analytics_users_online_now_follows_each_users_latest_fact_by_time) {
  auto& a = db().analytics();
  EXPECT_EQ(run(a.users_online_now()), 0);
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2), u3 = fixed<user_id>(3), u4 = fixed<user_id>(4);
  run(a.record_facts({online(1, u1), online(2, u2), offline(3, u2), offline(4, u3), online(5, u3), sockets(6, "n1", 9)},
                     window_seconds, std::nullopt));
  EXPECT_EQ(run(a.users_online_now()), 2);  // u1, u3
  // Event time decides, not arrival: u4's later offline arrives first.
  run(a.record_facts({offline(30, u4)}, window_seconds, std::nullopt));
  run(a.record_facts({online(20, u4)}, window_seconds, std::nullopt));
  EXPECT_EQ(run(a.users_online_now()), 2);
  run(a.record_facts({offline(40, u1)}, window_seconds, std::nullopt));
  EXPECT_EQ(run(a.users_online_now()), 1);
}

TEST_P(store_contract, analytics_prune_deletes_old_windows_but_keeps_the_presence_carried_over) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2), u3 = fixed<user_id>(3);
  const auto c1 = fixed<channel_id>(1);
  const std::vector<an::fact> facts{// A [0, 10)
                                    created(1, c1, u1), created(2, c1, u1), online(1, u1), offline(2, u1),
                                    online(3, u1), online(4, u2), sockets(5, "n1", 2),
                                    // B [10, 20)
                                    created(12, c1, u2), online(11, u3),
                                    // C [20, 30)
                                    created(22, c1, u2), offline(21, u2)};
  EXPECT_EQ(run(a.record_facts(facts, window_seconds, std::nullopt)), 11);
  for (int start : {0, 10, 20}) run(a.write_window(window_at(start), at(40)));
  const auto before_prune = run(a.presence_metrics(at(20), 100));
  ASSERT_EQ(before_prune.size(), 1u);
  EXPECT_EQ(counts_of(before_prune[0]), (counts{3, 0, 1, 0}));  // u1, u2, u3 online as C began

  // A and B go: 3 message facts; u1's first two presence facts and the
  // sample (u1's, u2's and u3's latest stay); 2 windows; 4 rows of each.
  EXPECT_EQ(run(a.prune_analytics(at(20))), 3 + 3 + 2 + 8);
  EXPECT_EQ(windows_of(run(a.message_metrics(t0(), 100))), (std::vector<timestamp>{at(20)}));
  EXPECT_EQ(windows_of(run(a.presence_metrics(t0(), 100))), (std::vector<timestamp>{at(20)}));
  EXPECT_EQ(all_counts(run(a.channel_metrics(c1, t0()))), (std::vector<counts>{{1, 1, 1, 0, 0}}));
  EXPECT_TRUE(run(a.user_metrics(u1, t0())).empty());
  EXPECT_EQ(run(a.users_online_now()), 2);  // u1 and u3; u2 left at 21 s
  EXPECT_EQ(run(a.prune_analytics(at(20))), 0);

  // Rewritten after the prune, C still sees who was online when it began.
  run(a.write_window(window_at(20), at(50)));
  EXPECT_EQ(all_counts(run(a.presence_metrics(t0(), 100))), all_counts(before_prune));
  EXPECT_EQ(all_counts(run(a.top_users(t0(), 10))), (std::vector<counts>{{1, 0, 0, 1, 1}}));
}

TEST_P(store_contract, analytics_top_lists_rank_by_sums_then_by_id) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2), u3 = fixed<user_id>(3);
  const auto c1 = fixed<channel_id>(1), c2 = fixed<channel_id>(2), c3 = fixed<channel_id>(3);
  const std::vector<an::fact> facts{// A [0, 10)
                                    created(1, c2, u1), created(2, c2, u2), created(3, c1, u3), edited(4, c3, u1),
                                    // B [10, 20)
                                    created(11, c1, u3),
                                    // C [20, 30), never written: counts nowhere.
                                    created(21, c2, u3), created(22, c2, u3), created(23, c2, u3)};
  run(a.record_facts(facts, window_seconds, std::nullopt));
  run(a.write_window(window_at(0), at(40)));
  run(a.write_window(window_at(10), at(40)));

  const auto channels = run(a.top_channels(t0(), 10));
  EXPECT_EQ(ids_of(channels, &an::channel_total::channel), (std::vector<channel_id>{c1, c2, c3}));  // c1, c2 tie
  EXPECT_EQ(all_counts(channels), (std::vector<counts>{{2, 0, 0, 1, 2}, {2, 0, 0, 2, 1}, {0, 1, 0, 0, 1}}));
  EXPECT_EQ(ids_of(run(a.top_channels(t0(), 2)), &an::channel_total::channel), (std::vector<channel_id>{c1, c2}));
  const auto later = run(a.top_channels(at(10), 10));
  EXPECT_EQ(ids_of(later, &an::channel_total::channel), (std::vector<channel_id>{c1}));
  EXPECT_EQ(all_counts(later), (std::vector<counts>{{1, 0, 0, 1, 1}}));

  const auto users = run(a.top_users(t0(), 10));
  EXPECT_EQ(ids_of(users, &an::user_total::user), (std::vector<user_id>{u3, u1, u2}));  // u1, u2 tie
  EXPECT_EQ(all_counts(users), (std::vector<counts>{{2, 0, 0, 1, 2}, {1, 1, 0, 1, 1}, {1, 0, 0, 1, 1}}));
  EXPECT_EQ(ids_of(run(a.top_users(t0(), 1)), &an::user_total::user), (std::vector<user_id>{u3}));

  const auto totals = run(a.system_totals(t0()));
  EXPECT_EQ(totals.messages, 4);
  EXPECT_EQ(totals.active_users, 3);
  EXPECT_EQ(totals.active_channels, 3);
  EXPECT_EQ(totals.most_active_channel, c1);
  EXPECT_EQ(totals.most_active_user, u3);
}

TEST_P(store_contract, analytics_system_totals_count_distinct_users_and_channels_across_windows) {
  auto& a = db().analytics();
  const auto u1 = fixed<user_id>(1), u2 = fixed<user_id>(2);
  const auto c1 = fixed<channel_id>(1), c2 = fixed<channel_id>(2);
  run(a.record_facts(
      {created(1, c1, u1), edited(2, c1, u2), created(11, c1, u1), created(12, c2, u1), edited(21, c2, u2)},
      window_seconds, std::nullopt));
  for (int start : {0, 10, 20}) run(a.write_window(window_at(start), at(40)));

  const auto all = run(a.system_totals(t0()));
  EXPECT_EQ(all.messages, 3);
  EXPECT_EQ(all.active_users, 2);     // 2 + 1 + 1 over the windows
  EXPECT_EQ(all.active_channels, 2);  // 1 + 2 + 1 over the windows
  EXPECT_EQ(all.most_active_channel, c1);
  EXPECT_EQ(all.most_active_user, u1);

  const auto later = run(a.system_totals(at(10)));
  EXPECT_EQ(later.messages, 2);
  EXPECT_EQ(later.active_users, 2);
  EXPECT_EQ(later.active_channels, 2);
  EXPECT_EQ(later.most_active_channel, c1);  // 1 each: the smaller id

  // Only an edit in the period: active, but nobody sent anything.
  const auto last = run(a.system_totals(at(20)));
  EXPECT_EQ(last.messages, 0);
  EXPECT_EQ(last.active_users, 1);
  EXPECT_EQ(last.active_channels, 1);
  EXPECT_EQ(last.most_active_channel, std::nullopt);
  EXPECT_EQ(last.most_active_user, std::nullopt);
}

TEST_P(store_contract, analytics_an_empty_store_answers_empty) {
  auto& a = db().analytics();
  EXPECT_EQ(run(a.record_facts({}, window_seconds, std::nullopt)), 0);
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());
  EXPECT_TRUE(run(a.message_metrics(t0(), 100)).empty());
  EXPECT_TRUE(run(a.channel_metrics(fixed<channel_id>(1), t0())).empty());
  EXPECT_TRUE(run(a.user_metrics(fixed<user_id>(1), t0())).empty());
  EXPECT_TRUE(run(a.presence_metrics(t0(), 100)).empty());
  EXPECT_TRUE(run(a.top_channels(t0(), 10)).empty());
  EXPECT_TRUE(run(a.top_users(t0(), 10)).empty());
  const auto totals = run(a.system_totals(t0()));
  EXPECT_EQ(totals.messages, 0);
  EXPECT_EQ(totals.active_users, 0);
  EXPECT_EQ(totals.active_channels, 0);
  EXPECT_EQ(totals.most_active_channel, std::nullopt);
  EXPECT_EQ(totals.most_active_user, std::nullopt);
  EXPECT_EQ(run(a.users_online_now()), 0);
  EXPECT_EQ(run(a.prune_analytics(at(1000))), 0);
  // Writing a window without facts marks it written and adds no row.
  run(a.write_window(window_at(0), at(20)));
  EXPECT_TRUE(run(a.message_metrics(t0(), 100)).empty());
  EXPECT_TRUE(run(a.presence_metrics(t0(), 100)).empty());
  EXPECT_TRUE(run(a.pending_windows(at(1000), 10)).empty());
}

}  // namespace
}  // namespace sl::test
