// The analytics aggregator over a real SQLite store and the database log,
// with a clock the test moves: events land in the windows of their own time,
// late ones (within the grace, and after it) included, each counted once.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "analytics/aggregator.hpp"
#include "await_in.hpp"
#include "domain/events.hpp"
#include "events/db_log.hpp"
#include "events/outbox_relay.hpp"
#include "events/presence_recorder.hpp"
#include "log_events.hpp"
#include "manual_clock.hpp"
#include "storage/sqlite/sqlite_store.hpp"

using namespace sl;
namespace asio = boost::asio;
namespace an = sl::domain::analytics;
using namespace std::chrono_literals;

namespace {

// Window length of these tests, and a window start well in the past of the
// real clock (the relay's lease uses real time; this one only moves the
// aggregator's view).
constexpr int window_s = 10;
const timestamp t0 = from_unix_micros(1'700'000'000LL * 1000000);  // aligned to 10 s

class AggregatorTest : public testing::Test {
 protected:
  AggregatorTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("sl-agg-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))),
        db_(storage::sqlite::open({(dir_ / "t.db").string(), 1})),
        clk_(t0),
        log_(*db_, real_clk_, events::db_log_settings{5ms}) {
    events::relay_settings rs;
    rs.holder = "test";
    rs.idle_max = 20ms;
    relay_ = std::make_unique<events::outbox_relay>(ctx_.get_executor(), *db_, log_, false, real_clk_, rs);
    relay_->start();
  }
  ~AggregatorTest() override {
    for (auto& a : aggregators_) run(a->stop());
    run(relay_->stop());
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  template <typename T>
  T run(asio::awaitable<T> aw) {
    return test::await_in(ctx_, std::move(aw));
  }
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds deadline = 5000ms) {
    return test::run_until(ctx_, done, deadline);
  }

  analytics::aggregator& start_aggregator(std::string group = analytics::consumer_group) {
    auto s = analytics::default_aggregator_settings();
    s.window_seconds = window_s;
    s.grace = 1s;
    s.write_every = 1h;  // the test writes windows itself (write_due_windows)
    s.consumer.group = std::move(group);
    s.consumer.poll_wait = 20ms;
    s.consumer.backoff_min = 5ms;
    s.consumer.backoff_max = 20ms;
    aggregators_.push_back(
        std::make_unique<analytics::aggregator>(ctx_.get_executor(), log_, *db_, db_->analytics(), clk_, s));
    aggregators_.back()->start();
    return *aggregators_.back();
  }

  // A message event of `kind` for `m` at t0 + `offset`.
  domain::log_event message_event(const char* kind, const domain::message& m, const user_id& actor,
                                  std::chrono::microseconds offset) {
    return test::as_log_event(domain::events::message_event(kind, m, actor, t0 + offset));
  }
  domain::message new_message(const channel_id& c, const user_id& author,
                              domain::message_type type = domain::message_type::text) {
    domain::message m;
    m.id = message_id::generate();
    m.channel = c;
    m.author = author;
    m.content = "x";
    m.type = type;
    return m;
  }

  void append(std::vector<domain::log_event> events) { run(log_.sink().append(std::move(events))); }

  // The group's position reaches the log's end: every appended event handled.
  void wait_consumed(const std::string& group = analytics::consumer_group) {
    ASSERT_TRUE(run_until([&] {
      return run(db_->count_log({"signalink.messages", "signalink.presence"}, run(db_->group_position(group)))) == 0;
    })) << "the aggregator did not consume every event";
  }

  std::optional<an::message_metrics> window_row(timestamp start) {
    for (const auto& r : run(db_->analytics().message_metrics(t0 - 1h, 1000)))
      if (r.time_window == start) return r;
    return std::nullopt;
  }

  std::filesystem::path dir_;
  asio::io_context ctx_;
  std::unique_ptr<domain::store> db_;
  system_clock real_clk_;
  test::manual_clock clk_;
  events::db_log log_;
  std::unique_ptr<events::outbox_relay> relay_;
  std::vector<std::unique_ptr<analytics::aggregator>> aggregators_;
};

TEST_F(AggregatorTest, LateAndOutOfOrderEventsLandInTheirOwnWindows) {
  auto& agg = start_aggregator();
  const auto ch = channel_id::generate();
  const auto ann = user_id::generate(), bob = user_id::generate();
  // Now is 0.5 s into window B (t0+10..20), within window A's grace (t0..10).
  clk_.set(t0 + 10500ms);
  // Window B's events arrive first, then A's (late, out of order within A too).
  append({message_event("message.created", new_message(ch, ann), ann, 10200ms),
          message_event("message.created", new_message(ch, bob), bob, 9900ms),
          message_event("message.created", new_message(ch, ann, domain::message_type::file), ann, 1000ms),
          message_event("message.created", new_message(ch, ann), ann, 10100ms)});
  wait_consumed();
  EXPECT_EQ(run(agg.write_due_windows()), 0u) << "A is still within its grace";
  clk_.set(t0 + 11001ms);
  EXPECT_EQ(run(agg.write_due_windows()), 1u);
  auto a = window_row(t0);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->message_count, 2);
  EXPECT_EQ(a->unique_senders_count, 2);
  EXPECT_EQ(a->file_messages_count, 1);
  EXPECT_EQ(a->text_messages_count, 1);
  EXPECT_DOUBLE_EQ(a->messages_per_second, 0.2);
  EXPECT_FALSE(window_row(t0 + 10s)) << "B has not ended";
  clk_.set(t0 + 21001ms);
  EXPECT_EQ(run(agg.write_due_windows()), 1u);
  auto b = window_row(t0 + 10s);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->message_count, 2);
  EXPECT_EQ(b->unique_senders_count, 1);
}

TEST_F(AggregatorTest, AStragglerAfterTheGraceRewritesItsWindowWithoutDoubleCounting) {
  auto& agg = start_aggregator();
  const auto ch = channel_id::generate();
  const auto ann = user_id::generate(), bob = user_id::generate();
  clk_.set(t0 + 5s);
  auto m = new_message(ch, ann);
  append({message_event("message.created", m, ann, 1s), message_event("message.edited", m, ann, 2s)});
  wait_consumed();
  clk_.set(t0 + 12s);
  EXPECT_EQ(run(agg.write_due_windows()), 1u);
  EXPECT_EQ(window_row(t0)->message_count, 1);
  // Long after the grace: bob's message of window A, and a delete in window B.
  append(
      {message_event("message.created", new_message(ch, bob), bob, 3s), message_event("message.deleted", m, ann, 11s)});
  wait_consumed();
  clk_.set(t0 + 30s);
  EXPECT_EQ(run(agg.write_due_windows()), 2u) << "A again, and B";
  auto a = window_row(t0);
  EXPECT_EQ(a->message_count, 2);
  EXPECT_EQ(a->unique_senders_count, 2);
  EXPECT_EQ(a->active_users_count, 2);
  auto b = window_row(t0 + 10s);
  ASSERT_TRUE(b) << "a window with only a delete gets its row";
  EXPECT_EQ(b->message_count, 0);
  EXPECT_EQ(b->active_users_count, 1);
  auto rows = run(db_->analytics().channel_metrics(ch, t0 - 1h));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].deleted_count, 1);  // newest first: B
  EXPECT_EQ(rows[1].created_count, 2);
  EXPECT_EQ(rows[1].edited_count, 1);
}

TEST_F(AggregatorTest, ReadingEveryEventAgainAddsNothing) {
  auto& agg = start_aggregator();
  const auto ch = channel_id::generate();
  const auto ann = user_id::generate();
  clk_.set(t0 + 5s);
  std::vector<domain::log_event> evs;
  for (int i = 0; i < 25; ++i) evs.push_back(message_event("message.created", new_message(ch, ann), ann, 1s));
  append(evs);
  wait_consumed();
  // A second group reads the whole log again into the same facts: a
  // redelivery of every event.
  start_aggregator("analytics-replay");
  wait_consumed("analytics-replay");
  clk_.set(t0 + 12s);
  run(agg.write_due_windows());
  EXPECT_EQ(window_row(t0)->message_count, 25);
  EXPECT_EQ(run(db_->analytics().user_metrics(ann, t0 - 1h)).at(0).messages_sent, 25);
}

TEST_F(AggregatorTest, ThePositionCommitsWithTheFactsAndPoisonGoesToTheDeadLetterTopic) {
  auto& agg = start_aggregator();
  const auto ch = channel_id::generate();
  const auto ann = user_id::generate();
  clk_.set(t0 + 5s);
  auto poison = message_event("message.created", new_message(ch, ann), ann, 1s);
  poison.payload = R"({"event_id":")" + poison.id.str() + R"(","event_type":"message.created"})";
  append({message_event("message.created", new_message(ch, ann), ann, 1s), poison,
          message_event("message.created", new_message(ch, ann), ann, 2s)});
  wait_consumed();
  clk_.set(t0 + 12s);
  run(agg.write_due_windows());
  EXPECT_EQ(window_row(t0)->message_count, 2);
  auto dead = run(db_->read_log({"signalink.messages.dlq"}, 0, 10));
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, poison.id);
}

TEST_F(AggregatorTest, PresenceIsCountedPerWindow) {
  auto& agg = start_aggregator();
  const auto ann = user_id::generate(), bob = user_id::generate();
  clk_.set(t0 + 5s);
  append({sl::events::presence_event(ann, domain::presence_status::online, t0 + 1s),
          sl::events::presence_event(bob, domain::presence_status::online, t0 + 2s),
          sl::events::presence_event(bob, domain::presence_status::offline, t0 + 3s),
          sl::events::sockets_event("n1", 3, t0 + 4s), sl::events::sockets_event("n1", 5, t0 + 6s),
          sl::events::sockets_event("n2", 2, t0 + 7s), sl::events::sockets_event("n1", 1, t0 + 12s)});
  wait_consumed();
  clk_.set(t0 + 30s);
  EXPECT_EQ(run(agg.write_due_windows()), 2u);
  auto rows = run(db_->analytics().presence_metrics(t0 - 1h, 10));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].users_online, 2);
  EXPECT_EQ(rows[1].users_connected, 2);
  EXPECT_EQ(rows[1].users_disconnected, 1);
  EXPECT_EQ(rows[1].sockets_peak, 7);
  EXPECT_EQ(rows[0].users_online, 1) << "ann carries over into the next window";
  EXPECT_EQ(rows[0].sockets_peak, 1);
  EXPECT_EQ(run(db_->analytics().users_online_now()), 1);
}

}  // namespace
