// Store contract: users, login lookup, search, profiles and sessions.

#include "domain/texts.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

using domain::new_user;
using domain::page;
using domain::profile_update;

std::vector<std::string> names(const std::vector<domain::user>& users) {
  std::vector<std::string> out;
  for (const auto& u : users) out.push_back(u.username);
  return out;
}

TEST_P(store_contract, create_user_returns_the_stored_user) {
  const auto at = tick();
  const auto id = user_id::generate();
  auto r = run(db().create_user(new_user{id, "alice", "alice@example.com", "h1", std::string("Alice A"), at}));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->id, id);
  EXPECT_EQ(r->username, "alice");
  EXPECT_EQ(r->email, "alice@example.com");
  EXPECT_EQ(r->full_name, std::optional<std::string>("Alice A"));
  EXPECT_EQ(r->avatar_url, std::nullopt);
  EXPECT_TRUE(r->is_active);
  EXPECT_FALSE(r->is_verified);
  EXPECT_EQ(r->created_at, at);
  EXPECT_EQ(r->updated_at, at);
  EXPECT_EQ(r->last_seen_at, std::nullopt);
  EXPECT_EQ(outbox_types(), std::vector<std::string>{"user.registered"});
}

TEST_P(store_contract, create_user_conflicts_carry_the_contract_texts) {
  make_user("alice");
  auto same_name = run(db().create_user(new_user{user_id::generate(), "alice", "other@example.com", "h", {}, tick()}));
  ASSERT_FALSE(same_name);
  EXPECT_EQ(same_name.err().kind, error_kind::bad_request);
  EXPECT_EQ(same_name.err().detail, domain::text::username_taken);

  auto same_email = run(db().create_user(new_user{user_id::generate(), "bob", "ALICE@example.com", "h", {}, tick()}));
  ASSERT_FALSE(same_email);
  EXPECT_EQ(same_email.err().kind, error_kind::bad_request);
  EXPECT_EQ(same_email.err().detail, domain::text::email_taken);

  auto both = run(db().create_user(new_user{user_id::generate(), "alice", "alice@example.com", "h", {}, tick()}));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.err().detail, domain::text::username_taken);
  // Only the first registration wrote anything.
  EXPECT_EQ(outbox_types(), std::vector<std::string>{"user.registered"});
  EXPECT_FALSE(run(db().find_user_by_username("bob")));
}

TEST_P(store_contract, find_user_by_id_and_username) {
  const auto alice = make_user("alice");
  auto by_id = run(db().find_user(alice.id));
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->username, "alice");
  EXPECT_FALSE(run(db().find_user(user_id::generate())));

  auto by_name = run(db().find_user_by_username("alice"));
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->id, alice.id);
  EXPECT_FALSE(run(db().find_user_by_username("ALICE")));  // usernames are case-sensitive
  EXPECT_FALSE(run(db().find_user_by_username("nobody")));
}

TEST_P(store_contract, find_login_by_username_or_case_insensitive_email) {
  const auto alice = make_user("alice");
  auto by_name = run(db().find_login("alice"));
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->u.id, alice.id);
  EXPECT_EQ(by_name->hashed_password, "hash-of-alice");

  auto by_email = run(db().find_login("Alice@EXAMPLE.com"));
  ASSERT_TRUE(by_email);
  EXPECT_EQ(by_email->u.id, alice.id);

  EXPECT_FALSE(run(db().find_login("ALICE")));
  EXPECT_FALSE(run(db().find_login("alice@example")));
  EXPECT_FALSE(run(db().find_login("")));
}

TEST_P(store_contract, search_is_a_case_insensitive_substring_ordered_by_username) {
  for (auto n : {"carol", "Bob_x", "alice", "bobby", "dave%1"}) make_user(n);
  EXPECT_EQ(names(run(db().search_users("BOB", page{0, 50}))), (std::vector<std::string>{"Bob_x", "bobby"}));
  // Emails match too: every address ends in example.com.
  EXPECT_EQ(names(run(db().search_users("EXAMPLE.COM", page{0, 50}))),
            (std::vector<std::string>{"Bob_x", "alice", "bobby", "carol", "dave%1"}));
  EXPECT_EQ(names(run(db().search_users("", page{0, 50}))).size(), 5u);
  EXPECT_TRUE(run(db().search_users("zed", page{0, 50})).empty());
}

TEST_P(store_contract, search_matches_percent_and_underscore_literally) {
  for (auto n : {"a_b", "axb", "c%d", "cxd"}) make_user(n);
  EXPECT_EQ(names(run(db().search_users("_", page{0, 50}))), std::vector<std::string>{"a_b"});
  EXPECT_EQ(names(run(db().search_users("a_", page{0, 50}))), std::vector<std::string>{"a_b"});
  EXPECT_EQ(names(run(db().search_users("%", page{0, 50}))), std::vector<std::string>{"c%d"});
  EXPECT_EQ(names(run(db().search_users("c%d", page{0, 50}))), std::vector<std::string>{"c%d"});
}

TEST_P(store_contract, search_pages) {
  for (auto n : {"user5", "user3", "user1", "user4", "user2"}) make_user(n);
  EXPECT_EQ(names(run(db().search_users("user", page{0, 2}))), (std::vector<std::string>{"user1", "user2"}));
  EXPECT_EQ(names(run(db().search_users("user", page{2, 2}))), (std::vector<std::string>{"user3", "user4"}));
  EXPECT_EQ(names(run(db().search_users("user", page{4, 2}))), std::vector<std::string>{"user5"});
  EXPECT_TRUE(run(db().search_users("user", page{5, 2})).empty());
  EXPECT_TRUE(run(db().search_users("user", page{0, 0})).empty());
}

TEST_P(store_contract, update_profile_sets_keeps_and_clears) {
  const auto alice = make_user("alice", std::string("Alice"));
  profile_update set_avatar;
  set_avatar.avatar_url = std::optional<std::string>("https://example.com/a.png");
  set_avatar.now = tick();
  auto u = run(db().update_profile(alice.id, set_avatar));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->full_name, std::optional<std::string>("Alice"));  // absent: unchanged
  EXPECT_EQ(u->avatar_url, std::optional<std::string>("https://example.com/a.png"));
  EXPECT_EQ(u->updated_at, set_avatar.now);
  EXPECT_EQ(u->created_at, alice.created_at);

  profile_update clear_name;
  clear_name.full_name = std::optional<std::string>();  // engaged but empty: cleared
  clear_name.now = tick();
  u = run(db().update_profile(alice.id, clear_name));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->full_name, std::nullopt);
  EXPECT_EQ(u->avatar_url, std::optional<std::string>("https://example.com/a.png"));

  auto stored = run(db().find_user(alice.id));
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->full_name, std::nullopt);
  EXPECT_EQ(stored->avatar_url, std::optional<std::string>("https://example.com/a.png"));

  EXPECT_FALSE(run(db().update_profile(user_id::generate(), clear_name)));
}

TEST_P(store_contract, touch_last_seen) {
  const auto alice = make_user("alice");
  const auto at = tick();
  run(db().touch_last_seen(alice.id, at));
  auto u = run(db().find_user(alice.id));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->last_seen_at, std::optional<timestamp>(at));
}

TEST_P(store_contract, sessions_revoke_once_and_list_revocations_since) {
  const auto alice = make_user("alice");
  const auto t0 = tick();
  run(db().create_session(domain::session{"jti-1", alice.id, t0 + std::chrono::hours(1), t0, "agent", "127.0.0.1"}));
  run(db().create_session(domain::session{"jti-2", alice.id, t0 + std::chrono::hours(1), t0, "", ""}));
  run(db().create_session(domain::session{"jti-3", alice.id, t0 + std::chrono::hours(1), t0, "", ""}));

  const auto t1 = tick();
  EXPECT_TRUE(run(db().revoke_session("jti-1", t1)));
  EXPECT_FALSE(run(db().revoke_session("jti-1", tick())));  // already revoked
  EXPECT_FALSE(run(db().revoke_session("no-such-jti", tick())));
  const auto t2 = tick();
  EXPECT_TRUE(run(db().revoke_session("jti-2", t2)));

  auto all = run(db().revoked_since(t0));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].jti, "jti-1");
  EXPECT_EQ(all[0].revoked_at, t1);
  EXPECT_EQ(all[1].jti, "jti-2");
  EXPECT_EQ(all[1].revoked_at, t2);

  auto recent = run(db().revoked_since(t2));  // "at or after"
  ASSERT_EQ(recent.size(), 1u);
  EXPECT_EQ(recent[0].jti, "jti-2");
  EXPECT_TRUE(run(db().revoked_since(t2 + std::chrono::microseconds(1))).empty());
}

TEST_P(store_contract, ping_answers) { EXPECT_TRUE(run(db().ping())); }

}  // namespace
}  // namespace sl::test
