// Who is notified of a message, and why (domain::notify::decide), plus the
// stored preview and the client's JSON shape.

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "domain/events.hpp"
#include "domain/notifications.hpp"

using namespace sl;
namespace dn = sl::domain::notify;

namespace {

user_id uid(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "00000000-0000-7000-8000-%012d", n);
  return *user_id::parse(buf);
}

dn::audience_member member(int n, domain::role r = domain::role::member) {
  dn::audience_member m;
  m.user = uid(n);
  m.username = "user" + std::to_string(n);
  m.member_role = r;
  return m;
}

dn::message_facts facts_by(int author, domain::role r = domain::role::member) {
  dn::message_facts f;
  f.channel.name = "general";
  f.author = uid(author);
  f.author_role = r;
  return f;
}

std::vector<std::pair<user_id, dn::kind>> flat(const std::vector<dn::decision>& ds) {
  std::vector<std::pair<user_id, dn::kind>> out;
  for (const auto& d : ds) out.emplace_back(d.recipient, d.type);
  return out;
}

using kinds = std::vector<std::pair<user_id, dn::kind>>;

}  // namespace

TEST(NotifyDecide, MentionsNotifyMembersButNeverTheAuthor) {
  auto f = facts_by(1);
  f.mentions = {uid(1), uid(2), uid(9)};  // the author, a member, a non-member
  const std::vector<dn::audience_member> members{member(1), member(2), member(3)};
  EXPECT_EQ(flat(dn::decide(f, members, {})), (kinds{{uid(2), dn::kind::mention}}));
}

TEST(NotifyDecide, DirectConversationsNotifyTheOtherMember) {
  auto f = facts_by(1);
  f.channel.is_direct = true;
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2)}, {})), (kinds{{uid(2), dn::kind::direct}}));
}

TEST(NotifyDecide, TheStrongestReasonWinsOncePerRecipient) {
  auto f = facts_by(1, domain::role::owner);
  f.channel.is_direct = true;
  f.mentions = {uid(2)};
  f.thread = {uid(2)};
  f.mentions_channel = true;
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2)}, {})), (kinds{{uid(2), dn::kind::direct}}));
  f.channel.is_direct = false;
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2)}, {})), (kinds{{uid(2), dn::kind::mention}}));
  f.mentions.clear();
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2)}, {})), (kinds{{uid(2), dn::kind::reply}}));
  f.thread.clear();
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2)}, {})), (kinds{{uid(2), dn::kind::broadcast}}));
}

TEST(NotifyDecide, ThreadRepliesNotifyParticipantsInTheChannel) {
  auto f = facts_by(3);
  f.thread = {uid(1), uid(2), uid(3), uid(8)};  // root author, a replier, the replier now, one who left
  EXPECT_EQ(flat(dn::decide(f, {member(1), member(2), member(3), member(4)}, {})),
            (kinds{{uid(1), dn::kind::reply}, {uid(2), dn::kind::reply}}));
}

TEST(NotifyDecide, ChannelAndHereCountOnlyFromOwnersAndAdmins) {
  const std::vector<dn::audience_member> members{member(1), member(2), member(3)};
  auto f = facts_by(1);
  f.mentions_channel = true;
  EXPECT_TRUE(dn::decide(f, members, {}).empty());
  f.author_role = domain::role::admin;
  EXPECT_EQ(flat(dn::decide(f, members, {})), (kinds{{uid(2), dn::kind::broadcast}, {uid(3), dn::kind::broadcast}}));
  f.mentions_channel = false;
  f.mentions_here = true;
  EXPECT_EQ(flat(dn::decide(f, members, {uid(3)})), (kinds{{uid(3), dn::kind::broadcast}}));
}

TEST(NotifyDecide, MutesAndPreferencesAreHonoured) {
  auto f = facts_by(1);
  f.mentions = {uid(2), uid(3), uid(4)};
  auto muted = member(2);
  muted.muted = true;
  auto no_mentions = member(3);
  no_mentions.prefs.mention = false;
  auto no_dms = member(4);
  no_dms.prefs.dm = false;
  const std::vector<dn::audience_member> members{member(1), muted, no_mentions, no_dms};
  EXPECT_EQ(flat(dn::decide(f, members, {})), (kinds{{uid(4), dn::kind::mention}}));
  f.mentions.clear();
  f.channel.is_direct = true;
  EXPECT_TRUE(dn::decide(f, {member(1), no_dms}, {}).empty());
  EXPECT_TRUE(dn::decide(f, {member(1), muted}, {}).empty());
}

TEST(NotifyPreview, CutsWholeCharactersAndMarksTheCut) {
  EXPECT_EQ(dn::preview("hello", 10), "hello");
  EXPECT_EQ(dn::preview("hello world", 5), "hello\xe2\x80\xa6");
  // Three two-byte characters: a cut after two keeps four bytes.
  EXPECT_EQ(dn::preview("\xc3\xa9\xc3\xa9\xc3\xa9", 2), "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
  // A truncated sequence at the end is not split.
  EXPECT_EQ(dn::preview("ab\xe2\x82", 5), "ab\xe2\x80\xa6");
}

TEST(NotifyJson, HasTheContractKeysInOrder) {
  dn::notification n;
  n.id = *notification_id::parse("00000000-0000-7000-8000-000000000001");
  n.recipient = uid(2);
  n.type = dn::kind::direct;
  n.text = "hi";
  n.count = 3;
  const auto s = boost::json::serialize(dn::to_json(n));
  EXPECT_EQ(s.find("{\"id\":\"00000000-0000-7000-8000-000000000001\",\"type\":\"dm\",\"channel_id\":"), 0u) << s;
  EXPECT_NE(s.find("\"actor_id\":null,\"text\":\"hi\",\"count\":3,\"is_read\":false,\"created_at\":"),
            std::string::npos)
      << s;
  for (auto k : {dn::kind::direct, dn::kind::mention, dn::kind::reply, dn::kind::broadcast})
    EXPECT_EQ(dn::parse_kind(dn::to_string(k)), k);
  EXPECT_FALSE(dn::parse_kind("everyone"));
}

TEST(NotifyMentions, ChannelAndHereAreNotUsernames) {
  EXPECT_TRUE(domain::events::is_broadcast_mention("channel"));
  EXPECT_TRUE(domain::events::is_broadcast_mention("here"));
  EXPECT_FALSE(domain::events::is_broadcast_mention("alice"));
  EXPECT_EQ(domain::events::mentions("@Alice and @channel, mail bob@example.com"),
            (std::vector<std::string>{"alice", "channel"}));
}
