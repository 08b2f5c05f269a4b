// The event pipeline on the database log, over a real SQLite store: the
// relay publishes what writes put in the outbox, and the consumer framework
// delivers it in order, once per group, with retries and dead letters.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "await_in.hpp"
#include "events/consumer.hpp"
#include "events/db_log.hpp"
#include "events/outbox_relay.hpp"
#include "events/presence_recorder.hpp"
#include "storage/sqlite/sqlite_store.hpp"

using namespace sl;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

class EventPipelineTest : public testing::Test {
 protected:
  EventPipelineTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("sl-events-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))),
        db_(storage::sqlite::open({(dir_ / "t.db").string(), 1})),
        log_(*db_, clk_, events::db_log_settings{5ms}) {
    events::relay_settings rs;
    rs.holder = "test";
    rs.idle_max = 20ms;
    relay_ = std::make_unique<events::outbox_relay>(ctx_.get_executor(), *db_, log_, false, clk_, rs);
  }
  ~EventPipelineTest() override {
    stop_all();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  template <typename T>
  T run(asio::awaitable<T> aw) {
    return test::await_in(ctx_, std::move(aw));
  }
  // Runs the loop until `done()` or the deadline; returns done().
  template <typename Pred>
  bool run_until(Pred done, std::chrono::milliseconds deadline = 5000ms) {
    return test::run_until(ctx_, done, deadline);
  }

  domain::log_event event(std::string payload, std::string topic = "signalink.messages") {
    domain::log_event e;
    e.id = event_id::generate();
    e.topic = std::move(topic);
    e.key = "k";
    e.event_type = "message.created";
    e.payload = std::move(payload);
    e.created_at = clk_.now();
    return e;
  }

  events::consumer& make_consumer(std::string group, events::event_handler h, int attempts = 3) {
    events::consumer_settings cs;
    cs.group = std::move(group);
    cs.topics = {"signalink.messages"};
    cs.poll_wait = 20ms;
    cs.max_attempts = attempts;
    cs.backoff_min = 5ms;
    cs.backoff_max = 20ms;
    consumers_.push_back(std::make_unique<events::consumer>(ctx_.get_executor(), log_, *db_, clk_, cs, std::move(h)));
    consumers_.back()->start();
    return *consumers_.back();
  }

  void stop_all() {
    for (auto& c : consumers_) run(c->stop());
    consumers_.clear();
    if (relay_started_) run(relay_->stop());
    relay_started_ = false;
  }
  void start_relay() {
    relay_->start();
    relay_started_ = true;
  }

  std::filesystem::path dir_;
  asio::io_context ctx_;
  system_clock clk_;
  std::unique_ptr<domain::store> db_;
  events::db_log log_;
  std::unique_ptr<events::outbox_relay> relay_;
  bool relay_started_ = false;
  std::vector<std::unique_ptr<events::consumer>> consumers_;
};

// Records what it handles; fails the first `failures[payload]` attempts.
struct recording_handler {
  std::shared_ptr<std::vector<std::string>> seen = std::make_shared<std::vector<std::string>>();
  std::shared_ptr<std::map<std::string, int>> failures = std::make_shared<std::map<std::string, int>>();

  events::event_handler fn() {
    return [seen = seen, failures = failures](const domain::log_event& e) { return handle(seen, failures, e); };
  }
  static task<void> handle(std::shared_ptr<std::vector<std::string>> seen,
                           std::shared_ptr<std::map<std::string, int>> failures, domain::log_event e) {
    if (auto it = failures->find(e.payload); it != failures->end() && it->second != 0) {
      if (it->second > 0) --it->second;
      throw std::runtime_error("refused: " + e.payload);
    }
    seen->push_back(e.payload);
    co_return;
  }
};

TEST_F(EventPipelineTest, RelayPublishesAndAConsumerHandlesInOrderOncePerGroup) {
  run(log_.sink().append({event("a"), event("b"), event("c")}));
  start_relay();
  recording_handler h;
  make_consumer("g", h.fn());
  ASSERT_TRUE(run_until([&] { return h.seen->size() == 3; }));
  EXPECT_EQ(*h.seen, (std::vector<std::string>{"a", "b", "c"}));

  // The same group, restarted, resumes after what it committed.
  stop_all();
  start_relay();
  run(log_.sink().append({event("d")}));
  recording_handler again;
  make_consumer("g", again.fn());
  ASSERT_TRUE(run_until([&] { return again.seen->size() == 1; }));
  EXPECT_EQ(*again.seen, std::vector<std::string>{"d"});

  // Another group sees everything.
  recording_handler other;
  make_consumer("h", other.fn());
  ASSERT_TRUE(run_until([&] { return other.seen->size() == 4; }));
}

TEST_F(EventPipelineTest, AFailingEventIsRetriedThenHandledOnce) {
  recording_handler h;
  (*h.failures)["flaky"] = 2;
  run(log_.sink().append({event("flaky"), event("next")}));
  start_relay();
  make_consumer("g", h.fn(), 3);
  ASSERT_TRUE(run_until([&] { return h.seen->size() == 2; }));
  EXPECT_EQ(*h.seen, (std::vector<std::string>{"flaky", "next"}));
}

TEST_F(EventPipelineTest, APoisonEventGoesToTheDeadLetterTopicAndConsumptionGoesOn) {
  recording_handler h;
  (*h.failures)["poison"] = -1;  // always
  auto poison = event("poison");
  run(log_.sink().append({poison, event("after")}));
  start_relay();
  make_consumer("g", h.fn(), 2);
  ASSERT_TRUE(run_until([&] { return h.seen->size() == 1; }));
  EXPECT_EQ(*h.seen, std::vector<std::string>{"after"});
  std::vector<domain::log_event> dead;
  ASSERT_TRUE(run_until([&] {
    dead = run(db_->read_log({"signalink.messages.dlq"}, 0, 10));
    return !dead.empty();
  }));
  EXPECT_EQ(dead[0].id, poison.id);
  EXPECT_EQ(dead[0].payload, "poison");
}

TEST_F(EventPipelineTest, AnEventTheGroupAlreadyProcessedIsSkipped) {
  auto done = event("done");
  run(db_->record_processed("g", {done.id}, clk_.now()));
  run(log_.sink().append({done, event("new")}));
  start_relay();
  recording_handler h;
  make_consumer("g", h.fn());
  ASSERT_TRUE(run_until([&] { return h.seen->size() == 1; }));
  run_until([] { return false; }, 100ms);
  EXPECT_EQ(*h.seen, std::vector<std::string>{"new"});
}

TEST_F(EventPipelineTest, PresenceIsRecordedInBatches) {
  events::presence_recorder rec(ctx_.get_executor(), log_.sink(), clk_, 20ms);
  rec.start();
  const auto u = user_id::generate();
  rec.record(u, domain::presence_status::online);
  rec.record(u, domain::presence_status::offline);
  start_relay();
  std::vector<domain::log_event> got;
  ASSERT_TRUE(run_until([&] {
    got = run(db_->read_log({"signalink.presence"}, 0, 10));
    return got.size() == 2;
  }));
  EXPECT_EQ(got[0].event_type, "presence.online");
  EXPECT_EQ(got[1].event_type, "presence.offline");
  EXPECT_EQ(got[0].key, u.str());
  EXPECT_NE(got[0].payload.find("\"user_id\":\"" + u.str() + "\""), std::string::npos);
  run(rec.stop());
}

}  // namespace
