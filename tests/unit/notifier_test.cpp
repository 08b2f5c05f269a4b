// The notifier over a real SQLite store, the in-process broker and the
// database log, with a courier the test scripts and a clock it moves:
// presence decides in-app versus external, events seen twice change nothing,
// deliveries wait for the coalescing window, retry, and end in the DLQ.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <mutex>
#include <set>

#include "await_in.hpp"
#include "broker/local/local_broker.hpp"
#include "domain/events.hpp"
#include "domain/message_service.hpp"
#include "events/db_log.hpp"
#include "log_events.hpp"
#include "manual_clock.hpp"
#include "notify/courier.hpp"
#include "notify/notifier.hpp"
#include "storage/sqlite/sqlite_store.hpp"

using namespace sl;
namespace asio = boost::asio;
namespace dn = sl::domain::notify;
using namespace std::chrono_literals;

namespace {

// Answers each send from a script (true = delivered); records every call.
struct scripted_courier {
  std::mutex mu;
  std::vector<dn::delivery> calls;
  std::vector<bool> script;  // consumed in order; delivered once it runs out

  notify::send_outcome send(const dn::delivery& d) {
    std::lock_guard lock(mu);
    calls.push_back(d);
    const bool ok = script.empty() ? true : script.front();
    if (!script.empty()) script.erase(script.begin());
    return {ok, ok ? "" : "HTTP 500"};
  }
  std::size_t count() {
    std::lock_guard lock(mu);
    return calls.size();
  }
};

class NotifierTest : public testing::Test {
 protected:
  NotifierTest()
      : dir_(std::filesystem::temp_directory_path() /
             ("sl-notifier-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))),
        db_(storage::sqlite::open({(dir_ / "t.db").string(), 1})),
        clk_(system_clock{}.now()),
        log_(*db_, real_clk_, events::db_log_settings{5ms}) {
    broker_.start({[this](const domain::broker_event& e) {
                     std::lock_guard lock(mu_);
                     if (e.kind == domain::broker_event_kind::notification) frames_.push_back(e);
                   },
                   {}});
    alice_ = user("alice");
    bob_ = user("bob");
    carol_ = user("carol");
    auto c = run(db_->create_channel(domain::new_channel{channel_id::generate(), "general", std::nullopt, false, alice_,
                                                         member_id::generate(), clk_.now()}));
    channel_ = c->id;
    for (auto u : {bob_, carol_})
      EXPECT_TRUE(run(db_->add_member(
          domain::new_member{member_id::generate(), channel_, u, domain::role::member, u, clk_.now()})));
  }
  ~NotifierTest() override {
    // Never started (the test drives handle() and deliver_due()): nothing to stop.
    notifier_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  template <typename T>
  T run(asio::awaitable<T> aw) {
    return test::await_in(ctx_, std::move(aw));
  }

  user_id user(const std::string& name) {
    auto u = run(db_->create_user(
        domain::new_user{user_id::generate(), name, name + "@example.com", "x", std::nullopt, clk_.now()}));
    return u->id;
  }

  notify::notifier& start(int max_attempts = 3, bool email = true) {
    auto s = notify::default_notifier_settings();
    s.coalesce = 1000ms;
    s.email_enabled = email;
    s.max_attempts = max_attempts;
    s.backoff = 10ms;
    s.backoff_max = 20ms;
    s.poll_every = 1h;  // the test calls deliver_due() itself
    s.consumer.poll_wait = 20ms;
    notifier_ = std::make_unique<notify::notifier>(ctx_.get_executor(), log_, *db_, broker_, clk_, s,
                                                   [this](const dn::delivery& d) { return courier_.send(d); });
    return *notifier_;
  }

  // `author` writes `content` (mentions resolved like the API does) and the
  // notifier handles its message.created event; returns the event.
  domain::log_event say(const user_id& author, std::string content, std::optional<message_id> parent = {}) {
    domain::rate_limiter limiter({false, 1, 1});
    domain::null_realtime_sink live;
    domain::message_service messages(*db_, clk_, limiter, live);
    domain::message_draft d;
    d.channel = channel_;
    d.content = std::move(content);
    d.parent = parent;
    auto created = run(messages.send(domain::principal{author, "x", "jti", {}}, std::move(d)));
    EXPECT_TRUE(created);
    last_message_ = created->msg.id;
    auto e = test::as_log_event(domain::events::message_event("message.created", created->msg, author, clk_.now()));
    run(notifier_->handle(e));
    return e;
  }

  dn::notification_page inbox(const user_id& u) { return run(db_->notifications().list_notifications(u, 0, 50)); }

  // Claims what is due and waits for the courier to see `calls` sends and the
  // results to be recorded.
  void deliver(std::size_t calls) {
    run(notifier_->deliver_due());
    ASSERT_TRUE(test::run_until(ctx_, [&] { return courier_.count() >= calls; }));
    test::run_until(
        ctx_, [] { return false; }, 100ms);  // the outcomes are stored
  }

  std::filesystem::path dir_;
  asio::io_context ctx_;
  std::unique_ptr<domain::store> db_;
  system_clock real_clk_;
  test::manual_clock clk_;
  events::db_log log_;
  broker::local_broker broker_;
  scripted_courier courier_;
  std::unique_ptr<notify::notifier> notifier_;
  std::mutex mu_;
  std::vector<domain::broker_event> frames_;
  user_id alice_, bob_, carol_;
  channel_id channel_;
  message_id last_message_;
};

}  // namespace

TEST_F(NotifierTest, AnOfflineMentionGetsOneNotificationAndItsDeliveriesAfterTheWindow) {
  start();
  run(db_->notifications().create_webhook(
      dn::webhook{webhook_id::generate(), bob_, "http://127.0.0.1:1/hook", "secret", clk_.now()}));
  const auto e = say(alice_, "hi @Bob, see this");

  auto page = inbox(bob_);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.unread_count, 1);
  EXPECT_EQ(page.items[0].type, dn::kind::mention);
  EXPECT_EQ(page.items[0].actor, alice_);
  EXPECT_EQ(page.items[0].text, "hi @Bob, see this");
  EXPECT_TRUE(inbox(carol_).items.empty());
  EXPECT_TRUE(inbox(alice_).items.empty());
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(frames_.size(), 1u);
    EXPECT_EQ(frames_[0].actor, bob_);
    const auto frame = boost::json::parse(*frames_[0].frame).as_object();
    EXPECT_EQ(frame.at("type").as_string(), "notification.new");
    EXPECT_EQ(frame.at("notification").at("id").as_string(), page.items[0].id.str());
  }

  // Not due before the coalescing window has passed.
  EXPECT_EQ(run(notifier_->deliver_due()), 0u);
  clk_.advance(1001ms);
  deliver(2);
  EXPECT_EQ(courier_.count(), 2u);
  std::set<dn::delivery_channel> channels;
  for (const auto& d : courier_.calls) channels.insert(d.channel);
  EXPECT_EQ(channels, (std::set<dn::delivery_channel>{dn::delivery_channel::webhook, dn::delivery_channel::email}));
  for (const auto& d : courier_.calls) {
    if (d.channel == dn::delivery_channel::email) EXPECT_EQ(d.target, "bob@example.com");
    if (d.channel == dn::delivery_channel::webhook) EXPECT_EQ(d.secret, "secret");
    EXPECT_EQ(d.recipient_name, "bob");
    EXPECT_EQ(d.actor_name, "alice");
    EXPECT_EQ(d.channel_name, "general");
  }
  EXPECT_EQ(run(db_->notifications().pending_deliveries()), 0);

  // The same event again (a redelivery) changes nothing, twice.
  run(notifier_->handle(e));
  run(notifier_->handle(e));
  EXPECT_EQ(inbox(bob_).items.size(), 1u);
  EXPECT_EQ(inbox(bob_).items[0].count, 1);
  clk_.advance(2000ms);
  EXPECT_EQ(run(notifier_->deliver_due()), 0u);
}

TEST_F(NotifierTest, ABurstFoldsIntoOneNotificationAndOneDeliveryPerChannel) {
  start();
  say(alice_, "@bob one");
  say(alice_, "@bob two");
  say(carol_, "@bob three");
  auto page = inbox(bob_);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].count, 3);
  EXPECT_EQ(page.items[0].text, "@bob three");
  EXPECT_EQ(page.items[0].actor, carol_);
  clk_.advance(1001ms);
  deliver(1);  // email only: bob has no webhook
  EXPECT_EQ(courier_.count(), 1u);
  EXPECT_EQ(courier_.calls[0].n.count, 3);
  // After the window, a new one.
  say(alice_, "@bob four");
  EXPECT_EQ(inbox(bob_).items.size(), 2u);
}

TEST_F(NotifierTest, SomeoneLookingGetsNothingAndSomeoneOnlineGetsNoExternalDelivery) {
  start();
  broker_.viewer_added(channel_, bob_);
  run(broker_.socket_opened(bob_));
  run(broker_.socket_opened(carol_));
  say(alice_, "@bob @carol hello");
  EXPECT_TRUE(inbox(bob_).items.empty());
  ASSERT_EQ(inbox(carol_).items.size(), 1u);
  clk_.advance(5s);
  EXPECT_EQ(run(notifier_->deliver_due()), 0u);
  EXPECT_EQ(run(db_->notifications().pending_deliveries()), 0);
  // Bob stops looking (still online elsewhere): in-app only.
  broker_.viewer_removed(channel_, bob_);
  say(alice_, "@bob again");
  EXPECT_EQ(inbox(bob_).items.size(), 1u);
  EXPECT_EQ(run(db_->notifications().pending_deliveries()), 0);
}

TEST_F(NotifierTest, ThreadRepliesNotifyTheRootAuthorAndEarlierRepliers) {
  start();
  say(alice_, "a thread");
  const auto root = last_message_;
  say(bob_, "first reply", root);
  auto alice_page = inbox(alice_);
  ASSERT_EQ(alice_page.items.size(), 1u);
  EXPECT_EQ(alice_page.items[0].type, dn::kind::reply);
  say(carol_, "second reply", root);
  EXPECT_EQ(inbox(bob_).items.size(), 1u);
  EXPECT_EQ(inbox(bob_).items[0].type, dn::kind::reply);
  EXPECT_EQ(inbox(alice_).items[0].count, 2);
  EXPECT_TRUE(inbox(carol_).items.empty());
}

TEST_F(NotifierTest, MutedChannelsAndDisabledPreferencesAreHonoured) {
  start();
  run(db_->notifications().set_muted(channel_, bob_, true));
  dn::preferences_update off;
  off.mention = false;
  off.now = clk_.now();
  run(db_->notifications().update_preferences(carol_, off));
  say(alice_, "@bob @carol hi");
  EXPECT_TRUE(inbox(bob_).items.empty());
  EXPECT_TRUE(inbox(carol_).items.empty());
}

TEST_F(NotifierTest, AFailingReceiverIsRetriedThenSucceedsOnce) {
  start(5, false);
  run(db_->notifications().create_webhook(
      dn::webhook{webhook_id::generate(), bob_, "http://127.0.0.1:1/hook", "s", clk_.now()}));
  courier_.script = {false, false, true};
  say(alice_, "@bob ping");
  for (std::size_t calls = 1; calls <= 3; ++calls) {
    clk_.advance(1100ms);  // past the window, then past each backoff
    deliver(calls);
  }
  EXPECT_EQ(courier_.count(), 3u);
  EXPECT_EQ(courier_.calls[0].id, courier_.calls[2].id);
  EXPECT_EQ(courier_.calls[2].attempts, 2);
  EXPECT_EQ(run(db_->notifications().pending_deliveries()), 0);
  clk_.advance(10s);
  EXPECT_EQ(run(notifier_->deliver_due()), 0u);
}

TEST_F(NotifierTest, AReceiverThatAlwaysFailsEndsInTheDeadLetterTopic) {
  start(3, false);
  run(db_->notifications().create_webhook(
      dn::webhook{webhook_id::generate(), bob_, "http://127.0.0.1:1/hook", "s", clk_.now()}));
  courier_.script = {false, false, false, false};
  say(alice_, "@bob ping");
  for (std::size_t calls = 1; calls <= 3; ++calls) {
    clk_.advance(1100ms);
    deliver(calls);
  }
  EXPECT_EQ(run(db_->notifications().pending_deliveries()), 0);
  // Appended to the database log: an outbox row until the relay publishes it.
  std::vector<domain::log_event> got;
  for (auto& row : run(db_->unpublished_outbox(1000)))
    if (row.event.topic == notify::dead_letter_topic) got.push_back(row.event);
  ASSERT_EQ(got.size(), 1u);
  const auto o = boost::json::parse(got[0].payload).as_object();
  EXPECT_EQ(o.at("event_type").as_string(), "notification.delivery_failed");
  EXPECT_EQ(o.at("attempts").as_int64(), 3);
  EXPECT_EQ(o.at("error").as_string(), "HTTP 500");
  EXPECT_EQ(o.at("user_id").as_string(), bob_.str());
  clk_.advance(10s);
  EXPECT_EQ(run(notifier_->deliver_due()), 0u);
  EXPECT_EQ(courier_.count(), 3u);
}

TEST(NotifyCourier, WebhookBodiesAndEmailsCarryTheNotification) {
  dn::delivery d;
  d.id = *delivery_id::parse("00000000-0000-7000-8000-000000000009");
  d.n.type = dn::kind::mention;
  d.n.text = "<b>hi</b> & bye";
  d.n.count = 1;
  d.n.actor = user_id::generate();
  d.recipient_name = "bob";
  d.actor_name = "alice";
  d.channel_name = "general";
  d.target = "bob@example.com";
  const auto body = boost::json::parse(notify::webhook_body(d, system_clock{}.now())).as_object();
  EXPECT_EQ(body.at("event").as_string(), "notification");
  EXPECT_EQ(body.at("delivery_id").as_string(), d.id.str());
  EXPECT_EQ(body.at("actor").at("username").as_string(), "alice");
  EXPECT_EQ(body.at("channel").at("name").as_string(), "general");
  EXPECT_EQ(body.at("notification").at("text").as_string(), d.n.text);
  notify::courier_settings cs;
  auto m = notify::email_of(d, cs);
  EXPECT_EQ(m.subject, "[Signalink] alice mentioned you in #general");
  EXPECT_EQ(m.to, "bob@example.com");
  EXPECT_NE(m.text.find("<b>hi</b> & bye"), std::string::npos);
  EXPECT_NE(m.html.find("&lt;b&gt;hi&lt;/b&gt; &amp; bye"), std::string::npos);
  EXPECT_EQ(m.html.find("<b>hi"), std::string::npos);
  d.n.count = 3;
  EXPECT_EQ(notify::email_of(d, cs).subject, "[Signalink] 3 new messages in #general");
}
