// Store contract: channels, members and read positions.

#include <algorithm>

#include "domain/texts.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

using domain::channel_update;
using domain::new_channel;
using domain::page;
using domain::role;

std::vector<std::string> names(const std::vector<domain::channel>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.name);
  return out;
}

TEST_P(store_contract, create_channel_makes_the_creator_its_owner) {
  const auto alice = make_user("alice");
  const auto at = tick();
  const auto id = channel_id::generate();
  const auto membership = member_id::generate();
  auto r = run(db().create_channel(new_channel{id, "general", std::string("talk"), false, alice.id, membership, at}));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->name, "general");
  EXPECT_EQ(r->description, std::optional<std::string>("talk"));
  EXPECT_FALSE(r->is_private);
  EXPECT_EQ(r->created_by, std::optional<user_id>(alice.id));
  EXPECT_EQ(r->created_at, at);
  EXPECT_EQ(r->updated_at, at);
  EXPECT_EQ(r->member_count, 1);
  EXPECT_EQ(r->message_count, 0);
  EXPECT_EQ(r->last_seq, 0);
  EXPECT_EQ(r->unread_count, 0);
  EXPECT_EQ(r->viewer_role, std::optional<role>(role::owner));

  auto members = run(db().list_members(id));
  ASSERT_EQ(members.size(), 1u);
  EXPECT_EQ(members[0].id, membership);
  EXPECT_EQ(members[0].user, alice.id);
  EXPECT_EQ(members[0].member_role, role::owner);
  EXPECT_EQ(members[0].joined_at, at);
  EXPECT_EQ(members[0].profile.username, "alice");
  EXPECT_EQ(run(db().member_role(id, alice.id)), std::optional<role>(role::owner));
  EXPECT_EQ(outbox_types(), (std::vector<std::string>{"user.registered", "channel.created"}));
}

TEST_P(store_contract, channel_names_are_unique) {
  const auto alice = make_user("alice");
  make_channel(alice, "general");
  auto again = run(db().create_channel(
      new_channel{channel_id::generate(), "general", {}, true, alice.id, member_id::generate(), tick()}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().kind, error_kind::bad_request);
  EXPECT_EQ(again.err().detail, domain::text::channel_name_taken);
  EXPECT_EQ(run(db().list_channels(alice.id, page{0, 50})).size(), 1u);
}

TEST_P(store_contract, find_channel_describes_the_viewer) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  auto as_bob = run(db().find_channel(c.id, bob.id));
  ASSERT_TRUE(as_bob);
  EXPECT_EQ(as_bob->viewer_role, std::nullopt);
  EXPECT_EQ(as_bob->unread_count, 0);
  EXPECT_EQ(as_bob->member_count, 1);
  auto as_alice = run(db().find_channel(c.id, alice.id));
  ASSERT_TRUE(as_alice);
  EXPECT_EQ(as_alice->viewer_role, std::optional<role>(role::owner));
  EXPECT_FALSE(run(db().find_channel(channel_id::generate(), alice.id)));
}

TEST_P(store_contract, list_channels_shows_public_and_own_private_in_creation_order) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  make_channel(alice, "c1");
  make_channel(alice, "c2-private", true);
  make_channel(bob, "c3");
  const auto bobs = make_channel(bob, "c4-bob-private", true);
  make_channel(alice, "c5");
  join(bobs, alice);

  EXPECT_EQ(names(run(db().list_channels(alice.id, page{0, 50}))),
            (std::vector<std::string>{"c1", "c2-private", "c3", "c4-bob-private", "c5"}));
  EXPECT_EQ(names(run(db().list_channels(bob.id, page{0, 50}))),
            (std::vector<std::string>{"c1", "c3", "c4-bob-private", "c5"}));
  const auto carol = make_user("carol");
  EXPECT_EQ(names(run(db().list_channels(carol.id, page{0, 50}))), (std::vector<std::string>{"c1", "c3", "c5"}));
  EXPECT_EQ(names(run(db().list_channels(carol.id, page{1, 1}))), std::vector<std::string>{"c3"});
  EXPECT_TRUE(run(db().list_channels(carol.id, page{3, 10})).empty());

  auto listed = run(db().list_channels(alice.id, page{0, 50}));
  EXPECT_EQ(listed[0].viewer_role, std::optional<role>(role::owner));
  EXPECT_EQ(listed[2].viewer_role, std::nullopt);
  EXPECT_EQ(listed[3].viewer_role, std::optional<role>(role::member));
}

TEST_P(store_contract, update_channel_changes_only_what_it_names) {
  const auto alice = make_user("alice");
  auto c = run(db().create_channel(new_channel{channel_id::generate(), "general", std::string("d"), false, alice.id,
                                               member_id::generate(), tick()}))
               .value();
  channel_update rename;
  rename.name = "lobby";
  rename.actor = alice.id;
  rename.now = tick();
  auto r = run(db().update_channel(c.id, rename));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->name, "lobby");
  EXPECT_EQ(r->description, std::optional<std::string>("d"));
  EXPECT_FALSE(r->is_private);
  EXPECT_EQ(r->updated_at, rename.now);
  EXPECT_EQ(r->viewer_role, std::optional<role>(role::owner));

  channel_update other;
  other.description = std::optional<std::string>();
  other.is_private = true;
  other.actor = alice.id;
  other.now = tick();
  r = run(db().update_channel(c.id, other));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->name, "lobby");
  EXPECT_EQ(r->description, std::nullopt);
  EXPECT_TRUE(r->is_private);

  make_channel(alice, "taken");
  channel_update clash;
  clash.name = "taken";
  clash.actor = alice.id;
  clash.now = tick();
  auto conflict = run(db().update_channel(c.id, clash));
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.err().detail, domain::text::channel_name_taken);

  channel_update free_name;
  free_name.name = "nowhere";
  free_name.actor = alice.id;
  free_name.now = tick();
  auto missing = run(db().update_channel(channel_id::generate(), free_name));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.err().kind, error_kind::not_found);

  EXPECT_EQ(outbox_types(), (std::vector<std::string>{"user.registered", "channel.created", "channel.updated",
                                                      "channel.updated", "channel.created"}));
}

TEST_P(store_contract, delete_channel_cascades) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  join(c, bob);
  const auto m = send(alice, c, "hello").msg;
  EXPECT_TRUE(run(db().delete_channel(c.id, alice.id, tick())));
  EXPECT_FALSE(run(db().find_channel(c.id, alice.id)));
  EXPECT_FALSE(run(db().find_message(m.id)));
  EXPECT_TRUE(run(db().list_members(c.id)).empty());
  EXPECT_EQ(run(db().member_role(c.id, bob.id)), std::nullopt);
  EXPECT_FALSE(run(db().delete_channel(c.id, alice.id, tick())));
  EXPECT_TRUE(run(db().find_user(bob.id)));
  EXPECT_EQ(outbox_types().back(), "channel.deleted");
  // The name is free again.
  make_channel(alice, "general");
}

TEST_P(store_contract, members_join_list_and_leave) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto carol = make_user("carol");
  const auto c = make_channel(alice, "general");
  const auto b = join(c, bob, role::admin);
  EXPECT_EQ(b.channel, c.id);
  EXPECT_EQ(b.user, bob.id);
  EXPECT_EQ(b.member_role, role::admin);
  EXPECT_EQ(b.last_read_seq, 0);
  EXPECT_EQ(b.profile.username, "bob");
  join(c, carol);

  auto again =
      run(db().add_member(domain::new_member{member_id::generate(), c.id, bob.id, role::member, alice.id, tick()}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.err().kind, error_kind::bad_request);
  EXPECT_EQ(again.err().detail, domain::text::already_member);

  auto listed = run(db().list_members(c.id));
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].user, alice.id);
  EXPECT_EQ(listed[1].user, bob.id);
  EXPECT_EQ(listed[2].user, carol.id);
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->member_count, 3);
  EXPECT_EQ(run(db().member_role(c.id, bob.id)), std::optional<role>(role::admin));
  EXPECT_EQ(run(db().member_role(c.id, carol.id)), std::optional<role>(role::member));

  EXPECT_TRUE(run(db().remove_member(c.id, bob.id, alice.id, tick())));
  EXPECT_FALSE(run(db().remove_member(c.id, bob.id, alice.id, tick())));
  EXPECT_EQ(run(db().member_role(c.id, bob.id)), std::nullopt);
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->member_count, 2);
  EXPECT_EQ(run(db().list_members(c.id)).size(), 2u);

  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "member.added"), 2);
  EXPECT_EQ(std::count(types.begin(), types.end(), "member.removed"), 1);
  EXPECT_EQ(types.size(), 3u + 1u + 2u + 1u);  // users, channel, joins, leave
}

TEST_P(store_contract, mark_read_moves_forward_only_and_is_clamped) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  join(c, bob);
  for (int i = 0; i < 5; ++i) send(alice, c, "m" + std::to_string(i));
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->unread_count, 5);

  run(db().mark_read(c.id, bob.id, 3));
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->unread_count, 2);
  run(db().mark_read(c.id, bob.id, 1));  // never back
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->unread_count, 2);
  run(db().mark_read(c.id, bob.id, 99));  // clamped to last_seq
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->unread_count, 0);
  auto members = run(db().list_members(c.id));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(members[1].last_read_seq, 5);

  send(alice, c, "more");
  EXPECT_EQ(run(db().find_channel(c.id, bob.id))->unread_count, 1);
  const auto carol = make_user("carol");  // not a member: nothing unread, nothing to mark
  run(db().mark_read(c.id, carol.id, 3));
  EXPECT_EQ(run(db().find_channel(c.id, carol.id))->unread_count, 0);
}

}  // namespace
}  // namespace sl::test
