// The gateway's hub: per-channel order, duplicates, gaps filled from a real
// SQLite store, replay buffering, membership ends, typing and slow consumers.
// Subscribers are recorders (the hub's port); everything else is real.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>

#include "await_in.hpp"
#include "broker/local/local_broker.hpp"
#include "domain/auth_service.hpp"
#include "domain/message_service.hpp"
#include "security/argon2_hasher.hpp"
#include "security/jwt_codec.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "transport/ws/codec.hpp"
#include "transport/ws/hub.hpp"

using namespace sl;
namespace asio = boost::asio;

namespace {

struct recorder final : ws::subscriber {
  explicit recorder(domain::principal p) : p_(std::move(p)) {}
  const domain::principal& who() const noexcept override { return p_; }
  void send(const ws::frame_ptr& f) override { frames.push_back(boost::json::parse(*f).as_object()); }
  void removed(const channel_id& c, const ws::frame_ptr& f) override {
    removed_from.push_back(c);
    send(f);
  }
  void close(std::uint16_t code, std::string) override { closed = code; }

  // The seqs of the message.receive frames received, in order.
  std::vector<std::int64_t> seqs() const {
    std::vector<std::int64_t> out;
    for (const auto& f : frames)
      if (f.at("type").as_string() == "message.receive") out.push_back(f.at("seq").as_int64());
    return out;
  }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& f : frames) out.emplace_back(f.at("type").as_string());
    return out;
  }

  domain::principal p_;
  std::vector<boost::json::object> frames;
  std::vector<channel_id> removed_from;
  std::optional<std::uint16_t> closed;
};

class HubTest : public testing::Test {
 protected:
  HubTest()
      : dir_(std::filesystem::temp_directory_path() / ("sl-hub-" + random_suffix())),
        db_(storage::sqlite::open({(dir_ / "t.db").string(), 1})),
        hasher_(security::hash_cost::fast, 1),
        codec_(std::string(32, 'k')),
        auth_(*db_, hasher_, codec_, clk_, {}),
        limiter_({false, 100, 1200}),
        messages_(*db_, clk_, limiter_, sink_),
        interests_(broker_),
        sv_{*db_, auth_, messages_, broker_, clk_, settings_, interests_},
        hub_(ctx_.get_executor(), sv_) {
    settings_.gap_wait = std::chrono::milliseconds(20);
    owner_ = make_user("owner");
    channel_ = run(db_->create_channel(domain::new_channel{channel_id::generate(), "general", std::nullopt, false,
                                                           owner_.id, member_id::generate(), clk_.now()}))
                   .value();
  }
  ~HubTest() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static std::string random_suffix() {
    return std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  }

  template <typename T>
  T run(asio::awaitable<T> aw) {
    return test::await_in(ctx_, std::move(aw));
  }
  // Lets timers and store reads of the hub run for a while.
  void settle(std::chrono::milliseconds d = std::chrono::milliseconds(300)) {
    ctx_.restart();
    ctx_.run_for(d);
  }

  domain::user make_user(const std::string& name) {
    return run(db_->create_user(
                   domain::new_user{user_id::generate(), name, name + "@example.com", "x", std::nullopt, clk_.now()}))
        .value();
  }
  std::shared_ptr<recorder> subscriber_of(const domain::user& u) {
    auto r = std::make_shared<recorder>(domain::principal{u.id, u.username, "jti-" + u.username, {}});
    hub_.attach(r);
    return r;
  }
  // Subscribes live from the hub's current position.
  void subscribe(const std::shared_ptr<recorder>& r, bool replaying = false, std::optional<std::int64_t> last = {}) {
    run(interests_.acquire(channel_.id));
    const auto through = hub_.delivered_through(channel_.id, channel_.last_seq);
    hub_.add(r, channel_.id, last.value_or(through), replaying, false, true);
  }
  // A committed message (the store assigns its seq) and its broker event.
  domain::broker_event store_message(const std::string& content) {
    auto created = run(db_->create_message(domain::new_message{message_id::generate(),
                                                               channel_.id,
                                                               owner_.id,
                                                               content,
                                                               domain::message_type::text,
                                                               nullptr,
                                                               std::nullopt,
                                                               std::nullopt,
                                                               {},
                                                               clk_.now()}))
                       .value();
    ids_.push_back(created.msg.id);
    domain::broker_event e;
    e.kind = domain::broker_event_kind::message_created;
    e.channel = channel_.id;
    e.seq = created.msg.seq;
    e.actor = owner_.id;
    e.frame =
        ws::make_frame(ws::message_frame(clk_.now(), domain::message_change::created, created.msg, owner_.username));
    return e;
  }

  // The id of the message stored just before `e`'s.
  message_id last_id_before(const domain::broker_event& e) const {
    return ids_.at(static_cast<std::size_t>(e.seq - 2));
  }

  std::vector<message_id> ids_;  // of stored messages, by seq - 1
  std::filesystem::path dir_;
  asio::io_context ctx_;
  system_clock clk_;
  std::unique_ptr<domain::store> db_;
  security::argon2_hasher hasher_;
  security::jwt_codec codec_;
  domain::auth_service auth_;
  domain::rate_limiter limiter_;
  domain::null_realtime_sink sink_;
  domain::message_service messages_;
  broker::local_broker broker_;
  ws::interest interests_;
  ws::gateway_settings settings_;
  ws::services sv_;
  ws::hub hub_;
  domain::user owner_;
  domain::channel channel_;
};

using seqs = std::vector<std::int64_t>;

TEST_F(HubTest, DeliversInSeqOrderAndDropsDuplicates) {
  auto r = subscriber_of(owner_);
  subscribe(r);
  auto m1 = store_message("one");
  auto m2 = store_message("two");
  auto m3 = store_message("three");
  hub_.on_event(m1);
  hub_.on_event(m3);  // early: held until 2 arrives
  EXPECT_EQ(r->seqs(), seqs{1});
  hub_.on_event(m2);
  hub_.on_event(m2);  // duplicate
  EXPECT_EQ(r->seqs(), (seqs{1, 2, 3}));
  settle();
  EXPECT_EQ(r->seqs(), (seqs{1, 2, 3}));
}

TEST_F(HubTest, FillsALostEventFromTheStore) {
  auto r = subscriber_of(owner_);
  subscribe(r);
  auto m1 = store_message("one");
  store_message("two");  // its event is lost
  auto m3 = store_message("three");
  hub_.on_event(m1);
  hub_.on_event(m3);
  EXPECT_EQ(r->seqs(), seqs{1});
  settle();
  EXPECT_EQ(r->seqs(), (seqs{1, 2, 3}));
  EXPECT_EQ(r->frames[1].at("content").as_string(), "two");
  EXPECT_EQ(r->frames[1].at("username").as_string(), "owner");
}

TEST_F(HubTest, SkipsADeletedMessageInAGap) {
  auto r = subscriber_of(owner_);
  subscribe(r);
  auto m1 = store_message("one");
  store_message("two");
  auto m3 = store_message("three");
  ASSERT_TRUE(run(db_->delete_message(last_id_before(m3), owner_.id, clk_.now())));
  hub_.on_event(m1);
  hub_.on_event(m3);
  settle();
  EXPECT_EQ(r->seqs(), (seqs{1, 3}));
}

TEST_F(HubTest, ResyncDeliversWhatTheBrokerNeverCarried) {
  auto r = subscriber_of(owner_);
  subscribe(r);
  store_message("one");
  store_message("two");
  hub_.resync();
  settle();
  EXPECT_EQ(r->seqs(), (seqs{1, 2}));
}

TEST_F(HubTest, AReplayingSubscriberGetsLiveMessagesAfterItsReplay) {
  auto live = subscriber_of(owner_);
  subscribe(live);
  auto replaying = subscriber_of(make_user("late"));
  subscribe(replaying, true);
  auto m1 = store_message("one");
  hub_.on_event(m1);
  EXPECT_EQ(live->seqs(), seqs{1});
  EXPECT_TRUE(replaying->seqs().empty());
  hub_.end_replay(*replaying, channel_.id);
  EXPECT_EQ(replaying->seqs(), seqs{1});
}

TEST_F(HubTest, ASubscriberAheadOfTheHubIsNotGivenOldMessages) {
  auto r = subscriber_of(owner_);
  subscribe(r, false, 2);
  auto m1 = store_message("one");
  auto m2 = store_message("two");
  auto m3 = store_message("three");
  hub_.on_event(m1);
  hub_.on_event(m2);
  hub_.on_event(m3);
  EXPECT_EQ(r->seqs(), seqs{3});
}

TEST_F(HubTest, TypingSkipsTheTypistsOwnSockets) {
  auto other = make_user("other");
  auto mine1 = subscriber_of(owner_);
  auto mine2 = subscriber_of(owner_);
  auto theirs = subscriber_of(other);
  for (auto& r : {mine1, mine2, theirs}) subscribe(r);
  domain::broker_event e;
  e.kind = domain::broker_event_kind::typing;
  e.channel = channel_.id;
  e.actor = owner_.id;
  e.frame = ws::make_frame(ws::typing_frame(clk_.now(), channel_.id, owner_.id, "owner", true));
  hub_.on_event(e);
  EXPECT_TRUE(mine1->frames.empty());
  EXPECT_TRUE(mine2->frames.empty());
  EXPECT_EQ(theirs->types(), std::vector<std::string>{"typing.indicator"});
}

TEST_F(HubTest, MembershipEndRemovesOnlyThatUser) {
  auto other = make_user("other");
  auto mine = subscriber_of(owner_);
  auto theirs = subscriber_of(other);
  subscribe(mine);
  subscribe(theirs);
  domain::broker_event e;
  e.kind = domain::broker_event_kind::membership_ended;
  e.channel = channel_.id;
  e.actor = other.id;
  e.reason = "removed";
  hub_.on_event(e);
  EXPECT_EQ(theirs->removed_from, std::vector<channel_id>{channel_.id});
  ASSERT_EQ(theirs->types(), std::vector<std::string>{"channel.unsubscribed"});
  EXPECT_EQ(theirs->frames[0].at("reason").as_string(), "removed");
  EXPECT_FALSE(hub_.subscribed(*theirs, channel_.id));
  EXPECT_TRUE(hub_.subscribed(*mine, channel_.id));
  hub_.on_event(store_message("after"));
  EXPECT_EQ(mine->seqs(), seqs{1});
  EXPECT_TRUE(theirs->seqs().empty());
}

TEST_F(HubTest, ChannelDeletionEndsEverySubscription) {
  auto a = subscriber_of(owner_);
  auto b = subscriber_of(make_user("bob"));
  subscribe(a);
  subscribe(b);
  domain::broker_event e;
  e.kind = domain::broker_event_kind::channel_deleted;
  e.channel = channel_.id;
  e.actor = owner_.id;
  hub_.on_event(e);
  for (auto& r : {a, b}) {
    ASSERT_EQ(r->types(), std::vector<std::string>{"channel.unsubscribed"});
    EXPECT_EQ(r->frames[0].at("reason").as_string(), "deleted");
  }
  EXPECT_EQ(interests_.subscriptions(channel_.id), 0u);
}

TEST_F(HubTest, BufferingPastTheLimitClosesTheSlowConsumer) {
  settings_.send_queue_bytes = 2000;
  auto r = subscriber_of(owner_);
  subscribe(r, true);
  for (int i = 0; i < 10 && !r->closed; ++i) hub_.on_event(store_message(std::string(500, 'x')));
  EXPECT_EQ(r->closed, std::optional<std::uint16_t>(4008));
}

TEST_F(HubTest, ANotificationGoesToEverySocketOfItsRecipientOnly) {
  auto other = make_user("other");
  auto subscribed = subscriber_of(owner_);
  auto idle = subscriber_of(owner_);  // subscribes to nothing: still notified
  auto theirs = subscriber_of(other);
  subscribe(subscribed);
  subscribe(theirs);
  domain::broker_event e;
  e.kind = domain::broker_event_kind::notification;
  e.actor = owner_.id;
  e.frame = ws::make_frame(R"({"type":"notification.new","notification":{"count":2}})");
  hub_.on_event(e);
  for (auto& r : {subscribed, idle}) {
    ASSERT_EQ(r->types(), std::vector<std::string>{"notification.new"});
    EXPECT_EQ(r->frames[0].at("notification").at("count").as_int64(), 2);
  }
  EXPECT_TRUE(theirs->frames.empty());

  hub_.detach(*idle);
  hub_.on_event(e);
  EXPECT_EQ(subscribed->types().size(), 2u);
  EXPECT_EQ(idle->types().size(), 1u);
  EXPECT_TRUE(theirs->frames.empty());
}

TEST_F(HubTest, EverySubscriptionCountsAsOneViewerUntilItEnds) {
  auto viewing = [&](const domain::user& u) {
    return !run(broker_.viewing_among(channel_.id, std::vector<user_id>{u.id})).empty();
  };
  auto other = make_user("other");
  auto first = subscriber_of(owner_);
  auto second = subscriber_of(owner_);
  auto theirs = subscriber_of(other);
  EXPECT_FALSE(viewing(owner_));
  subscribe(first);
  subscribe(second);
  subscribe(theirs);
  EXPECT_TRUE(viewing(owner_));
  EXPECT_TRUE(viewing(other));

  // Unsubscribe: the owner's other socket still looks at the channel.
  EXPECT_TRUE(hub_.remove(*first, channel_.id));
  EXPECT_FALSE(hub_.remove(*first, channel_.id));  // nothing left to end: no second removal
  EXPECT_TRUE(viewing(owner_));
  // The socket closes.
  hub_.detach(*second);
  EXPECT_FALSE(viewing(owner_));
  hub_.detach(*second);
  EXPECT_FALSE(viewing(owner_));

  // The membership ends.
  domain::broker_event e;
  e.kind = domain::broker_event_kind::membership_ended;
  e.channel = channel_.id;
  e.actor = other.id;
  e.reason = "removed";
  hub_.on_event(e);
  EXPECT_FALSE(viewing(other));
  hub_.detach(*theirs);  // after its subscription ended: counted once only
  subscribe(first);
  EXPECT_TRUE(viewing(owner_));
  EXPECT_FALSE(viewing(other));

  // The channel is deleted.
  e.kind = domain::broker_event_kind::channel_deleted;
  e.actor = owner_.id;
  hub_.on_event(e);
  EXPECT_FALSE(viewing(owner_));
}

TEST_F(HubTest, DetachReleasesEveryInterest) {
  auto r = subscriber_of(owner_);
  subscribe(r);
  EXPECT_EQ(interests_.subscriptions(channel_.id), 1u);
  hub_.detach(*r);
  EXPECT_EQ(interests_.subscriptions(channel_.id), 0u);
  EXPECT_TRUE(hub_.sessions().empty());
}

}  // namespace
