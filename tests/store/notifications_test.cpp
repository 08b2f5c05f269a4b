// Store contract: notifications (domain/notification_store.hpp). Usernames,
// preferences and mutes, direct conversations, audiences and threads,
// webhooks, recording notifications once per (event, recipient) with
// coalescing, the delivery queue with its leases, and reading notifications.
// Times are explicit instants from a fixed epoch.

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/json/parse.hpp>
#include <cstdio>

#include "store_fixture.hpp"

namespace sl::test {
namespace {

namespace notify = domain::notify;
using domain::role;
using notify::record_outcome;
using std::chrono::milliseconds;
using std::chrono::seconds;

const milliseconds window = seconds(60);

timestamp at(int s) { return *parse_iso("2026-02-01T00:00:00Z") + seconds(s); }

// Ids that sort in the order of `n`.
template <typename Id>
Id fixed(int n) {
  char text[37];
  std::snprintf(text, sizeof text, "00000000-0000-7000-8000-%012d", n);
  return *Id::parse(text);
}

template <typename T, typename F>
std::vector<std::string> sorted_texts(const std::vector<T>& xs, F f) {
  std::vector<std::string> out;
  for (const auto& x : xs) out.push_back(f(x));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> sorted_ids(const std::vector<user_id>& ids) {
  return sorted_texts(ids, [](const user_id& u) { return u.str(); });
}

notify::new_notification mention_of(const domain::user& to, channel_id c, std::optional<user_id> actor,
                                    std::string text, notification_id id = notification_id::generate()) {
  notify::new_notification n;
  n.id = id;
  n.recipient = to.id;
  n.type = notify::kind::mention;
  n.channel = c;
  n.message = message_id::generate();
  n.actor = actor;
  n.text = std::move(text);
  return n;
}

task<void> open_keeping(domain::store* db, domain::new_direct d, std::optional<domain::channel>* out) {
  out->emplace(co_await db->notifications().open_direct(std::move(d)));
}

TEST_P(store_contract, notifications_users_named_ignores_case_and_unknown_names) {
  auto& ns = db().notifications();
  const auto alice = make_user("Alice");
  const auto bob = make_user("bob");
  make_user("carol");
  auto found = run(ns.users_named({"ALICE", "Bob", "nobody"}));
  EXPECT_EQ(sorted_texts(found, [](const domain::user& u) { return u.username; }),
            (std::vector<std::string>{"Alice", "bob"}));
  EXPECT_EQ(sorted_texts(found, [](const domain::user& u) { return u.id.str(); }), sorted_ids({alice.id, bob.id}));
  EXPECT_TRUE(run(ns.users_named({})).empty());
}

TEST_P(store_contract, notifications_preferences_default_update_and_unknown_user) {
  auto& ns = db().notifications();
  const auto alice = make_user("alice");
  auto p = run(ns.preferences_of(alice.id));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->email && p->push && p->mention && p->dm);

  notify::preferences_update off;
  off.email = false;
  off.mention = false;
  off.now = at(10);
  auto updated = run(ns.update_preferences(alice.id, off));
  ASSERT_TRUE(updated);
  EXPECT_FALSE(updated->email);
  EXPECT_TRUE(updated->push);
  EXPECT_FALSE(updated->mention);
  EXPECT_TRUE(updated->dm);
  EXPECT_EQ(updated->updated_at, at(10));

  notify::preferences_update push_off;
  push_off.push = false;
  push_off.now = at(20);
  run(ns.update_preferences(alice.id, push_off));
  auto read = run(ns.preferences_of(alice.id));
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->email);  // untouched by the second update
  EXPECT_FALSE(read->push);
  EXPECT_FALSE(read->mention);
  EXPECT_TRUE(read->dm);
  EXPECT_EQ(read->updated_at, at(20));

  EXPECT_FALSE(run(ns.preferences_of(user_id::generate())));
  EXPECT_FALSE(run(ns.update_preferences(user_id::generate(), off)));
}

TEST_P(store_contract, notifications_mute_is_per_member) {
  auto& ns = db().notifications();
  const auto owner = make_user("owner");
  const auto bob = make_user("bob");
  const auto stranger = make_user("stranger");
  const auto c = make_channel(owner, "general");
  join(c, bob);
  EXPECT_EQ(run(ns.muted(c.id, bob.id)), std::optional<bool>(false));
  EXPECT_TRUE(run(ns.set_muted(c.id, bob.id, true)));
  EXPECT_EQ(run(ns.muted(c.id, bob.id)), std::optional<bool>(true));
  EXPECT_EQ(run(ns.muted(c.id, owner.id)), std::optional<bool>(false));
  EXPECT_TRUE(run(ns.set_muted(c.id, bob.id, true)));  // already muted: still a member
  EXPECT_TRUE(run(ns.set_muted(c.id, bob.id, false)));
  EXPECT_EQ(run(ns.muted(c.id, bob.id)), std::optional<bool>(false));
  EXPECT_FALSE(run(ns.set_muted(c.id, stranger.id, true)));
  EXPECT_EQ(run(ns.muted(c.id, stranger.id)), std::nullopt);
  EXPECT_FALSE(run(ns.set_muted(channel_id::generate(), bob.id, true)));
}

TEST_P(store_contract, notifications_open_direct_finds_the_pair_in_either_order) {
  auto& ns = db().notifications();
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto events_before = outbox().size();
  const auto first = channel_id::generate();
  const auto ma = member_id::generate(), mb = member_id::generate();
  auto c = run(ns.open_direct(domain::new_direct{first, "dm-first", alice.id, bob.id, ma, mb, at(1)}));
  EXPECT_EQ(c.id, first);
  EXPECT_EQ(c.name, "dm-first");
  EXPECT_TRUE(c.is_private);
  EXPECT_EQ(c.description, std::nullopt);
  EXPECT_EQ(c.created_by, std::optional<user_id>(alice.id));
  EXPECT_EQ(c.member_count, 2);
  EXPECT_EQ(c.viewer_role, std::optional<role>(role::member));

  auto again = run(ns.open_direct(domain::new_direct{channel_id::generate(), "dm-second", bob.id, alice.id,
                                                     member_id::generate(), member_id::generate(), at(2)}));
  EXPECT_EQ(again.id, first);
  EXPECT_EQ(again.name, "dm-first");
  EXPECT_EQ(again.viewer_role, std::optional<role>(role::member));
  auto third = run(ns.open_direct(domain::new_direct{channel_id::generate(), "dm-third", alice.id, bob.id,
                                                     member_id::generate(), member_id::generate(), at(3)}));
  EXPECT_EQ(third.id, first);

  auto info = run(ns.channel_info(first));
  ASSERT_TRUE(info);
  EXPECT_EQ(info->name, "dm-first");
  EXPECT_TRUE(info->is_private);
  EXPECT_TRUE(info->is_direct);
  auto members = run(db().list_members(first));
  ASSERT_EQ(members.size(), 2u);
  EXPECT_EQ(sorted_texts(members, [](const domain::member& m) { return m.user.str(); }),
            sorted_ids({alice.id, bob.id}));
  EXPECT_EQ(sorted_texts(members, [](const domain::member& m) { return m.id.str(); }),
            (sorted_texts(std::vector<member_id>{ma, mb}, [](const member_id& m) { return m.str(); })));
  for (const auto& m : members) EXPECT_EQ(m.member_role, role::member);

  auto rows = outbox();
  std::vector<std::string> added;
  for (auto i = events_before; i < rows.size(); ++i) added.push_back(rows[i].event_type);
  EXPECT_EQ(added, (std::vector<std::string>{"channel.created", "member.added", "member.added"}));
  EXPECT_EQ(run(db().list_channels(alice.id, domain::page{0, 100})).size(), 1u);
}

TEST_P(store_contract, notifications_simultaneous_opens_of_a_pair_make_one_channel) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto events_before = outbox().size();
  std::optional<domain::channel> one, two;
  int failures = 0;
  auto count = [&failures](const std::exception_ptr& e) {
    if (e) ++failures;
  };
  boost::asio::co_spawn(ctx_,
                        open_keeping(store_.get(),
                                     domain::new_direct{channel_id::generate(), "dm-one", alice.id, bob.id,
                                                        member_id::generate(), member_id::generate(), at(1)},
                                     &one),
                        count);
  boost::asio::co_spawn(ctx_,
                        open_keeping(store_.get(),
                                     domain::new_direct{channel_id::generate(), "dm-two", bob.id, alice.id,
                                                        member_id::generate(), member_id::generate(), at(1)},
                                     &two),
                        count);
  ctx_.restart();
  ctx_.run();
  ASSERT_EQ(failures, 0);
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->id, two->id);
  EXPECT_EQ(outbox().size(), events_before + 3);
}

TEST_P(store_contract, notifications_audience_has_role_mute_preferences_and_filter) {
  auto& ns = db().notifications();
  const auto owner = make_user("owner");
  const auto quiet = make_user("quiet");
  const auto picky = make_user("picky");
  const auto outsider = make_user("outsider");
  const auto c = make_channel(owner, "general");
  join(c, quiet);
  join(c, picky, role::admin);
  run(ns.set_muted(c.id, quiet.id, true));
  notify::preferences_update no_email;
  no_email.email = false;
  no_email.now = tick();
  run(ns.update_preferences(picky.id, no_email));

  auto all = run(ns.audience(c.id, std::nullopt));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.user < b.user; }));
  for (const auto& m : all) {
    if (m.user == owner.id) {
      EXPECT_EQ(m.username, "owner");
      EXPECT_EQ(m.email, "owner@example.com");
      EXPECT_EQ(m.member_role, role::owner);
      EXPECT_FALSE(m.muted);
      EXPECT_TRUE(m.prefs.email && m.prefs.push && m.prefs.mention && m.prefs.dm);
    } else if (m.user == quiet.id) {
      EXPECT_EQ(m.member_role, role::member);
      EXPECT_TRUE(m.muted);
      EXPECT_TRUE(m.prefs.email);
    } else {
      EXPECT_EQ(m.user, picky.id);
      EXPECT_EQ(m.member_role, role::admin);
      EXPECT_FALSE(m.muted);
      EXPECT_FALSE(m.prefs.email);
      EXPECT_TRUE(m.prefs.push);
    }
  }
  auto some = run(ns.audience(c.id, std::vector<user_id>{picky.id, outsider.id}));
  ASSERT_EQ(some.size(), 1u);
  EXPECT_EQ(some[0].user, picky.id);
  EXPECT_TRUE(run(ns.audience(c.id, std::vector<user_id>{})).empty());
  EXPECT_TRUE(run(ns.audience(channel_id::generate(), std::nullopt)).empty());
  EXPECT_EQ(run(ns.channel_info(channel_id::generate())), std::nullopt);
}

TEST_P(store_contract, notifications_thread_participants_are_the_root_and_reply_authors) {
  auto& ns = db().notifications();
  const auto a = make_user("author");
  const auto b = make_user("bob");
  const auto c = make_user("carol");
  const auto d = make_user("dave");
  const auto ch = make_channel(a, "general");
  join(ch, b);
  join(ch, c);
  join(ch, d);
  const auto root = send(a, ch, "root").msg;
  auto reply = [&](const domain::user& u) {
    auto m = draft(u, ch, "reply");
    m.parent = root.id;
    return send(std::move(m)).msg;
  };
  EXPECT_EQ(sorted_ids(run(ns.thread_participants(root.id))), sorted_ids({a.id}));
  reply(b);
  const auto by_carol = reply(c);
  reply(b);
  send(d, ch, "not in the thread");
  ASSERT_TRUE(run(db().delete_message(by_carol.id, c.id, tick())));
  EXPECT_EQ(sorted_ids(run(ns.thread_participants(root.id))), sorted_ids({a.id, b.id, c.id}));
}

TEST_P(store_contract, notifications_webhooks_belong_to_their_owner) {
  auto& ns = db().notifications();
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const notify::webhook h1{webhook_id::generate(), alice.id, "https://a.example/1", "s1", at(1)};
  const notify::webhook h2{webhook_id::generate(), alice.id, "https://a.example/2", "s2", at(2)};
  const notify::webhook hb{webhook_id::generate(), bob.id, "https://b.example/", "sb", at(1)};
  for (const auto& h : {h2, h1, hb}) {
    auto created = run(ns.create_webhook(h));
    EXPECT_EQ(created.id, h.id);
    EXPECT_EQ(created.url, h.url);
  }
  auto listed = run(ns.list_webhooks(alice.id));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, h1.id);  // oldest first
  EXPECT_EQ(listed[0].owner, alice.id);
  EXPECT_EQ(listed[0].url, h1.url);
  EXPECT_EQ(listed[0].secret, "s1");
  EXPECT_EQ(listed[0].created_at, at(1));
  EXPECT_EQ(listed[1].id, h2.id);
  EXPECT_EQ(run(ns.count_webhooks(alice.id)), 2);
  EXPECT_EQ(run(ns.count_webhooks(bob.id)), 1);

  EXPECT_FALSE(run(ns.delete_webhook(bob.id, h1.id)));
  EXPECT_TRUE(run(ns.delete_webhook(alice.id, h1.id)));
  EXPECT_FALSE(run(ns.delete_webhook(alice.id, h1.id)));
  EXPECT_EQ(run(ns.count_webhooks(alice.id)), 1);
  EXPECT_EQ(run(ns.list_webhooks(alice.id)).at(0).id, h2.id);
  EXPECT_TRUE(run(ns.list_webhooks(make_user("carol").id)).empty());
}

TEST_P(store_contract, notifications_are_recorded_once_and_coalesce_within_the_window) {
  auto& ns = db().notifications();
  const auto actor = make_user("actor");
  const auto other = make_user("other");
  const auto r = make_user("recipient");
  const auto c = make_channel(actor, "general");
  const auto c2 = make_channel(actor, "random");
  const auto ev1 = event_id::generate(), ev2 = event_id::generate();

  const auto first = mention_of(r, c.id, actor.id, "hello @recipient");
  auto one = run(ns.record_notifications(ev1, {first}, window, milliseconds(0), at(0)));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].outcome, record_outcome::created);
  EXPECT_EQ(one[0].n.id, first.id);
  EXPECT_EQ(one[0].n.recipient, r.id);
  EXPECT_EQ(one[0].n.type, notify::kind::mention);
  EXPECT_EQ(one[0].n.channel, c.id);
  EXPECT_EQ(one[0].n.message, first.message);
  EXPECT_EQ(one[0].n.actor, std::optional<user_id>(actor.id));
  EXPECT_EQ(one[0].n.text, "hello @recipient");
  EXPECT_EQ(one[0].n.count, 1);
  EXPECT_FALSE(one[0].n.is_read);
  EXPECT_EQ(one[0].n.created_at, at(0));

  auto rows = outbox();
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows.back().event_type, "notification.created");
  EXPECT_EQ(rows.back().topic, "signalink.notifications");
  EXPECT_EQ(rows.back().key, r.id.str());
  const auto payload = boost::json::parse(rows.back().payload).as_object();
  EXPECT_EQ(payload.at("event_type").as_string(), "notification.created");
  EXPECT_EQ(payload.at("user_id").as_string(), r.id.str());
  EXPECT_EQ(payload.at("notification_id").as_string(), first.id.str());
  EXPECT_EQ(payload.at("type").as_string(), "mention");
  EXPECT_EQ(payload.at("channel_id").as_string(), c.id.str());
  EXPECT_EQ(payload.at("message_id").as_string(), first.message.str());
  EXPECT_EQ(payload.at("actor_id").as_string(), actor.id.str());
  EXPECT_EQ(payload.at("count").to_number<std::int64_t>(), 1);
  const auto events_after_first = rows.size();

  // Within the window: folded, with the latest message, actor and text; no event.
  auto second = mention_of(r, c.id, other.id, "second");
  second.type = notify::kind::reply;
  auto two = run(ns.record_notifications(ev2, {second}, window, milliseconds(0), at(30)));
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].outcome, record_outcome::folded);
  EXPECT_EQ(two[0].n.id, first.id);
  EXPECT_EQ(two[0].n.count, 2);
  EXPECT_EQ(two[0].n.message, second.message);
  EXPECT_EQ(two[0].n.actor, std::optional<user_id>(other.id));
  EXPECT_EQ(two[0].n.text, "second");
  EXPECT_EQ(two[0].n.type, notify::kind::mention);
  EXPECT_EQ(two[0].n.created_at, at(0));
  EXPECT_EQ(two[0].n.updated_at, at(30));
  EXPECT_EQ(outbox().size(), events_after_first);

  // The same (event, recipient) again: nothing changes.
  auto dup =
      run(ns.record_notifications(ev2, {mention_of(r, c.id, other.id, "again")}, window, milliseconds(0), at(31)));
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].outcome, record_outcome::duplicate);
  EXPECT_EQ(dup[0].n.id, first.id);
  EXPECT_EQ(dup[0].n.count, 2);
  EXPECT_EQ(dup[0].n.text, "second");
  EXPECT_EQ(outbox().size(), events_after_first);

  // Another channel, and another recipient of the same event, in the order given.
  auto mixed = run(ns.record_notifications(
      ev2, {mention_of(r, c2.id, actor.id, "elsewhere"), mention_of(other, c.id, actor.id, "for other")}, window,
      milliseconds(0), at(32)));
  ASSERT_EQ(mixed.size(), 2u);
  EXPECT_EQ(mixed[0].outcome, record_outcome::duplicate);  // (ev2, r) was recorded
  EXPECT_EQ(mixed[0].n.id, first.id);
  EXPECT_EQ(mixed[1].outcome, record_outcome::created);
  EXPECT_EQ(mixed[1].n.recipient, other.id);
  auto elsewhere = run(ns.record_notifications(event_id::generate(), {mention_of(r, c2.id, actor.id, "elsewhere")},
                                               window, milliseconds(0), at(33)));
  EXPECT_EQ(elsewhere.at(0).outcome, record_outcome::created);

  // Created at 0 s: not a candidate at 61 s.
  const auto late = mention_of(r, c.id, actor.id, "late");
  auto after = run(ns.record_notifications(event_id::generate(), {late}, window, milliseconds(0), at(61)));
  EXPECT_EQ(after.at(0).outcome, record_outcome::created);
  EXPECT_EQ(after.at(0).n.id, late.id);
  EXPECT_EQ(after.at(0).n.count, 1);
  // At exactly the window's edge it still is.
  auto edge = run(ns.record_notifications(event_id::generate(), {mention_of(r, c.id, actor.id, "edge")}, window,
                                          milliseconds(0), at(121)));
  EXPECT_EQ(edge.at(0).outcome, record_outcome::folded);
  EXPECT_EQ(edge.at(0).n.id, late.id);

  // Once read, it absorbs nothing more.
  ASSERT_TRUE(run(ns.mark_notification_read(r.id, late.id, at(121))));
  const auto fresh = mention_of(r, c.id, actor.id, "fresh");
  auto unread = run(ns.record_notifications(event_id::generate(), {fresh}, window, milliseconds(0), at(121)));
  EXPECT_EQ(unread.at(0).outcome, record_outcome::created);
  EXPECT_EQ(unread.at(0).n.id, fresh.id);

  auto page = run(ns.list_notifications(r.id, 0, 100));
  EXPECT_EQ(page.items.size(), 4u);  // first, elsewhere, late, fresh
  EXPECT_EQ(page.unread_count, 3);
}

TEST_P(store_contract, notifications_deliveries_are_due_leased_and_settled) {
  auto& ns = db().notifications();
  const auto actor = make_user("actor");
  const auto r = make_user("recipient");
  const auto c = make_channel(actor, "general");
  run(ns.create_webhook({webhook_id::generate(), r.id, "https://r.example/1", "s1", at(0)}));
  run(ns.create_webhook({webhook_id::generate(), r.id, "https://r.example/2", "s2", at(0)}));
  run(ns.create_webhook({webhook_id::generate(), actor.id, "https://actor.example/", "sa", at(0)}));

  // No channels asked for: no deliveries.
  run(ns.record_notifications(event_id::generate(), {mention_of(r, c.id, actor.id, "quiet")}, window, milliseconds(0),
                              at(0)));
  EXPECT_EQ(run(ns.pending_deliveries()), 0);
  ASSERT_EQ(run(ns.mark_all_notifications_read(r.id, at(1))), 1);

  auto owed = mention_of(r, c.id, actor.id, "owed");
  owed.webhooks = true;
  owed.email = true;
  run(ns.record_notifications(event_id::generate(), {owed}, window, seconds(5), at(10)));
  EXPECT_EQ(run(ns.pending_deliveries()), 3);
  // Folding into it owes nothing more, but the delivery shows the folded state.
  auto folded = mention_of(r, c.id, actor.id, "folded");
  folded.webhooks = folded.email = true;
  auto f = run(ns.record_notifications(event_id::generate(), {folded}, window, seconds(5), at(12)));
  ASSERT_EQ(f.at(0).outcome, record_outcome::folded);
  EXPECT_EQ(run(ns.pending_deliveries()), 3);

  EXPECT_TRUE(run(ns.claim_deliveries(at(14), at(44), 10)).empty());  // due at 15 s
  auto claimed = run(ns.claim_deliveries(at(15), at(45), 10));
  ASSERT_EQ(claimed.size(), 3u);
  std::vector<std::string> targets;
  std::optional<delivery_id> email;
  std::vector<delivery_id> hooks;
  for (const auto& d : claimed) {
    targets.push_back(d.target);
    EXPECT_EQ(d.attempts, 0);
    EXPECT_EQ(d.n.id, owed.id);
    EXPECT_EQ(d.n.count, 2);
    EXPECT_EQ(d.n.text, "folded");
    EXPECT_EQ(d.recipient_name, "recipient");
    EXPECT_EQ(d.actor_name, "actor");
    EXPECT_EQ(d.channel_name, "general");
    if (d.channel == notify::delivery_channel::email) {
      EXPECT_EQ(d.target, "recipient@example.com");
      EXPECT_EQ(d.secret, "");
      email = d.id;
    } else {
      EXPECT_EQ(d.secret, d.target == "https://r.example/1" ? "s1" : "s2");
      hooks.push_back(d.id);
    }
  }
  std::sort(targets.begin(), targets.end());
  EXPECT_EQ(targets, (std::vector<std::string>{"https://r.example/1", "https://r.example/2", "recipient@example.com"}));
  ASSERT_TRUE(email);
  ASSERT_EQ(hooks.size(), 2u);
  const auto hook = hooks[0], other_hook = hooks[1];

  // Leased until 45 s: nobody else gets them before.
  EXPECT_TRUE(run(ns.claim_deliveries(at(20), at(50), 10)).empty());
  run(ns.delivery_sent(other_hook, at(21)));
  run(ns.delivery_retry(hook, at(100), "connection refused"));
  EXPECT_EQ(run(ns.pending_deliveries()), 2);
  // The retry released its lease but is due at 100 s; the email's lease expired at 45 s.
  auto expired = run(ns.claim_deliveries(at(45), at(75), 10));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].id, *email);
  EXPECT_EQ(expired[0].attempts, 0);
  run(ns.delivery_failed(*email, std::string(5000, 'x'), at(46)));
  EXPECT_EQ(run(ns.pending_deliveries()), 1);
  auto retried = run(ns.claim_deliveries(at(100), at(130), 10));
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].id, hook);
  EXPECT_EQ(retried[0].attempts, 1);
  run(ns.delivery_sent(hook, at(101)));
  EXPECT_EQ(run(ns.pending_deliveries()), 0);
  EXPECT_TRUE(run(ns.claim_deliveries(at(1000), at(1030), 10)).empty());
}

TEST_P(store_contract, notifications_claims_take_the_oldest_due_first_up_to_the_limit) {
  auto& ns = db().notifications();
  const auto actor = make_user("actor");
  const auto r = make_user("recipient");
  const auto c1 = make_channel(actor, "one");
  const auto c2 = make_channel(actor, "two");
  auto later = mention_of(r, c1.id, std::nullopt, "later");
  later.email = true;
  auto sooner = mention_of(r, c2.id, std::nullopt, "sooner");
  sooner.email = true;
  run(ns.record_notifications(event_id::generate(), {later}, window, seconds(30), at(0)));
  run(ns.record_notifications(event_id::generate(), {sooner}, window, seconds(10), at(5)));
  auto first = run(ns.claim_deliveries(at(60), at(90), 1));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].n.id, sooner.id);
  EXPECT_EQ(first[0].actor_name, "");  // no actor
  EXPECT_EQ(first[0].channel_name, "two");
  auto second = run(ns.claim_deliveries(at(60), at(90), 1));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].n.id, later.id);
  EXPECT_TRUE(run(ns.claim_deliveries(at(60), at(90), 1)).empty());
}

TEST_P(store_contract, notifications_list_newest_first_and_mark_read) {
  auto& ns = db().notifications();
  const auto actor = make_user("actor");
  const auto r = make_user("recipient");
  const auto stranger = make_user("stranger");
  std::vector<notification_id> ids;
  for (int i = 0; i < 3; ++i) {
    const auto c = make_channel(actor, "channel-" + std::to_string(i));
    ids.push_back(fixed<notification_id>(10 - i));
    run(ns.record_notifications(event_id::generate(), {mention_of(r, c.id, actor.id, "n", ids.back())}, window,
                                milliseconds(0), at(i)));
  }
  // Two created at one instant: the larger id first.
  const auto c = make_channel(actor, "channel-3");
  ids.push_back(fixed<notification_id>(20));
  run(ns.record_notifications(event_id::generate(), {mention_of(r, c.id, actor.id, "n", ids.back())}, window,
                              milliseconds(0), at(2)));

  auto page = run(ns.list_notifications(r.id, 0, 10));
  std::vector<notification_id> listed;
  for (const auto& n : page.items) listed.push_back(n.id);
  EXPECT_EQ(listed, (std::vector<notification_id>{ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(page.unread_count, 4);
  auto middle = run(ns.list_notifications(r.id, 1, 2));
  ASSERT_EQ(middle.items.size(), 2u);
  EXPECT_EQ(middle.items[0].id, ids[2]);
  EXPECT_EQ(middle.items[1].id, ids[1]);
  EXPECT_EQ(middle.unread_count, 4);

  EXPECT_EQ(run(ns.mark_notification_read(stranger.id, ids[1], at(10))), std::nullopt);
  EXPECT_EQ(run(ns.mark_notification_read(r.id, notification_id::generate(), at(10))), std::nullopt);
  auto read = run(ns.mark_notification_read(r.id, ids[1], at(10)));
  ASSERT_TRUE(read);
  EXPECT_EQ(read->id, ids[1]);
  EXPECT_TRUE(read->is_read);
  auto again = run(ns.mark_notification_read(r.id, ids[1], at(11)));  // still the user's
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->is_read);
  EXPECT_EQ(run(ns.list_notifications(r.id, 0, 10)).unread_count, 3);
  EXPECT_EQ(run(ns.list_notifications(stranger.id, 0, 10)).items.size(), 0u);

  EXPECT_EQ(run(ns.mark_all_notifications_read(r.id, at(12))), 3);
  EXPECT_EQ(run(ns.mark_all_notifications_read(r.id, at(13))), 0);
  auto after = run(ns.list_notifications(r.id, 0, 10));
  EXPECT_EQ(after.unread_count, 0);
  ASSERT_EQ(after.items.size(), 4u);
  for (const auto& n : after.items) EXPECT_TRUE(n.is_read);
}

TEST_P(store_contract, notifications_messages_keep_their_resolved_mentions) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  join(c, bob);
  auto m = draft(alice, c, "hi @bob");
  m.mentions = {bob.id};
  auto created = send(std::move(m));
  EXPECT_EQ(created.msg.mentions, std::vector<user_id>{bob.id});
  // The column itself is not readable through the port (mentions are empty
  // when read back) nor through the fixture's peeks.
  EXPECT_TRUE(run(db().find_message(created.msg.id))->mentions.empty());
}

}  // namespace
}  // namespace sl::test
