#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "domain/events.hpp"

using namespace sl;
using namespace sl::domain;

TEST(Events, MentionsAreParsedOncePerName) {
  EXPECT_EQ(events::mentions("hi @Alice and @bob, also @alice. mail a@b.com"),
            (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(events::mentions("no mentions here").empty());
}

TEST(Events, MessageEventCarriesTheContractFields) {
  message m;
  m.id = message_id::generate();
  m.channel = channel_id::generate();
  m.author = user_id::generate();
  m.content = "hello @carol";
  m.seq = 7;
  m.metadata = boost::json::object{{"k", 1}};
  const auto deleter = user_id::generate();
  auto r = events::message_event("message.deleted", m, deleter, from_unix_micros(0));
  EXPECT_EQ(r.topic, "signalink.messages");
  EXPECT_EQ(r.key, m.channel.str());
  auto o = boost::json::parse(r.payload).as_object();
  EXPECT_EQ(o["event_type"].as_string(), "message.deleted");
  EXPECT_EQ(o["user_id"].as_string(), deleter.str());
  EXPECT_EQ(o["seq"].as_int64(), 7);
  EXPECT_EQ(o["mentions"].as_array().size(), 1u);
  EXPECT_EQ(o["event_id"].as_string(), r.id.str());
}
