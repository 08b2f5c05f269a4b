// What analytics counts: windows aligned to the epoch, and each event reduced
// to a fact (or refused as poison).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "domain/analytics.hpp"
#include "domain/events.hpp"
#include "events/presence_recorder.hpp"
#include "log_events.hpp"

using namespace sl;
using namespace sl::domain;
namespace records = sl::domain::events;
namespace an = sl::domain::analytics;
using sl::test::as_log_event;

namespace {

timestamp at_seconds(std::int64_t s, std::int64_t micros = 0) { return from_unix_micros(s * 1000000 + micros); }

message sample_message() {
  message m;
  m.id = message_id::generate();
  m.channel = channel_id::generate();
  m.author = user_id::generate();
  m.content = "hi";
  m.type = message_type::image;
  m.seq = 3;
  return m;
}

}  // namespace

TEST(AnalyticsWindow, AlignsToTheEpoch) {
  EXPECT_EQ(an::window_of(at_seconds(125, 999999), 60).start, at_seconds(120));
  EXPECT_EQ(an::window_of(at_seconds(120), 60).start, at_seconds(120));
  EXPECT_EQ(an::window_of(at_seconds(119, 999999), 60).start, at_seconds(60));
  EXPECT_EQ(an::window_of(at_seconds(7), 5).start, at_seconds(5));
  EXPECT_EQ(an::window_of(at_seconds(7), 5).seconds, 5);
}

TEST(AnalyticsFacts, MessageEventsCarryTheirEventTimeActorAndType) {
  const auto m = sample_message();
  const auto deleter = user_id::generate();
  const auto created =
      an::fact_of(as_log_event(records::message_event("message.created", m, *m.author, at_seconds(100, 5))));
  ASSERT_TRUE(created);
  const auto& f = std::get<an::message_fact>(*created);
  EXPECT_EQ(f.action, an::message_action::created);
  EXPECT_EQ(f.at, at_seconds(100, 5));
  EXPECT_EQ(f.channel, m.channel);
  EXPECT_EQ(f.message, m.id);
  EXPECT_EQ(f.user, m.author);
  EXPECT_EQ(f.type, message_type::image);

  const auto deleted =
      an::fact_of(as_log_event(records::message_event("message.deleted", m, deleter, at_seconds(200))));
  ASSERT_TRUE(deleted);
  EXPECT_EQ(std::get<an::message_fact>(*deleted).action, an::message_action::deleted);
  EXPECT_EQ(std::get<an::message_fact>(*deleted).user, deleter);
}

TEST(AnalyticsFacts, PresenceEventsAndSocketSamples) {
  const auto u = user_id::generate();
  auto online = an::fact_of(sl::events::presence_event(u, presence_status::online, at_seconds(50)));
  ASSERT_TRUE(online);
  EXPECT_EQ(std::get<an::presence_fact>(*online).action, an::presence_action::online);
  EXPECT_EQ(std::get<an::presence_fact>(*online).user, u);
  auto sample = an::fact_of(sl::events::sockets_event("node-1", 42, at_seconds(51)));
  ASSERT_TRUE(sample);
  const auto& s = std::get<an::presence_fact>(*sample);
  EXPECT_EQ(s.action, an::presence_action::sockets);
  EXPECT_EQ(s.node, "node-1");
  EXPECT_EQ(s.sockets, 42);
  EXPECT_FALSE(s.user);
}

TEST(AnalyticsFacts, OtherEventsAreNotCounted) {
  user u;
  u.id = user_id::generate();
  u.username = "ann";
  EXPECT_FALSE(an::fact_of(as_log_event(records::user_registered(u, at_seconds(1)))));
}

TEST(AnalyticsFacts, TheTypeComesFromThePayloadWhenTheRecordHasNoHeader) {
  const auto m = sample_message();
  auto e = as_log_event(records::message_event("message.edited", m, *m.author, at_seconds(10)));
  e.event_type.clear();
  const auto f = an::fact_of(e);
  ASSERT_TRUE(f);
  EXPECT_EQ(std::get<an::message_fact>(*f).action, an::message_action::edited);
}

TEST(AnalyticsFacts, PoisonEventsAreRefused) {
  const auto m = sample_message();
  auto good = as_log_event(records::message_event("message.created", m, *m.author, at_seconds(10)));
  auto broken = [&](auto edit) {
    auto e = good;
    auto o = boost::json::parse(e.payload).as_object();
    edit(o);
    e.payload = boost::json::serialize(o);
    return e;
  };
  EXPECT_THROW(an::fact_of(broken([](auto& o) { o.erase("channel_id"); })), std::invalid_argument);
  EXPECT_THROW(an::fact_of(broken([](auto& o) { o["timestamp"] = "yesterday"; })), std::invalid_argument);
  EXPECT_THROW(an::fact_of(broken([](auto& o) { o["event_id"] = 7; })), std::invalid_argument);
  EXPECT_THROW(an::fact_of(broken([](auto& o) { o["message_type"] = "video"; })), std::invalid_argument);
  auto garbage = good;
  garbage.payload = "not json";
  EXPECT_THROW(an::fact_of(garbage), std::invalid_argument);
  auto sample = sl::events::sockets_event("n", 1, at_seconds(1));
  sample.payload =
      R"({"event_id":")" + sample.id.str() +
      R"(","event_type":"presence.sockets","timestamp":"2026-01-01T00:00:00Z","node_id":"n","sockets":-1})";
  EXPECT_THROW(an::fact_of(sample), std::invalid_argument);
}
