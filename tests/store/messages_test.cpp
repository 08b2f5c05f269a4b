// Store contract: messages (seq, idempotency, threads, history, edits and
// deletes) and group commit under concurrency.

#include <algorithm>
#include <boost/json/parse.hpp>
#include <map>
#include <numeric>

#include "domain/texts.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

using domain::history_query;
using domain::page;

std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(to - from + 1));
  std::iota(out.begin(), out.end(), from);
  return out;
}

TEST_P(store_contract, create_message_returns_the_stored_message) {
  const auto alice = make_user("alice", std::string("Alice"));
  const auto c = make_channel(alice, "general");
  auto d = draft(alice, c, "hello @Bob and @carol.");
  d.type = domain::message_type::image;
  d.metadata = boost::json::parse(R"({"url":"https://example.com/x.png","size":3,"tags":["a"]})");
  d.client_msg_id = "c-1";
  const auto sent = send(d);
  EXPECT_FALSE(sent.duplicate);
  const auto& m = sent.msg;
  EXPECT_EQ(m.id, d.id);
  EXPECT_EQ(m.channel, c.id);
  EXPECT_EQ(m.author, std::optional<user_id>(alice.id));
  EXPECT_EQ(m.content, "hello @Bob and @carol.");
  EXPECT_EQ(m.type, domain::message_type::image);
  EXPECT_EQ(m.metadata, d.metadata);
  EXPECT_FALSE(m.is_edited);
  EXPECT_FALSE(m.is_deleted);
  EXPECT_EQ(m.created_at, d.now);
  EXPECT_EQ(m.updated_at, d.now);
  EXPECT_EQ(m.seq, 1);
  EXPECT_EQ(m.parent, std::nullopt);
  EXPECT_EQ(m.client_msg_id, std::optional<std::string>("c-1"));
  EXPECT_EQ(m.reply_count, 0);
  ASSERT_TRUE(m.author_profile);
  EXPECT_EQ(m.author_profile->username, "alice");

  auto found = run(db().find_message(d.id));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->metadata, d.metadata);
  EXPECT_EQ(found->seq, 1);
  ASSERT_TRUE(found->author_profile);
  EXPECT_EQ(found->author_profile->full_name, std::optional<std::string>("Alice"));
  EXPECT_FALSE(run(db().find_message(message_id::generate())));

  auto plain = send(alice, c, "no metadata");
  EXPECT_TRUE(plain.msg.metadata.is_null());
  EXPECT_TRUE(run(db().find_message(plain.msg.id))->metadata.is_null());
}

TEST_P(store_contract, message_event_carries_the_assigned_seq) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  send(alice, c, "one");
  auto d = draft(alice, c, "two @bob");
  d.metadata = boost::json::parse(R"({"seq":-1})");
  send(d);
  std::vector<boost::json::object> created;
  for (auto& row : outbox())
    if (row.event_type == "message.created") {
      EXPECT_EQ(row.topic, "signalink.messages");
      EXPECT_EQ(row.key, c.id.str());
      created.push_back(boost::json::parse(row.payload).as_object());
    }
  ASSERT_EQ(created.size(), 2u);
  EXPECT_EQ(created[0].at("seq"), 1);
  EXPECT_EQ(created[1].at("seq"), 2);
  EXPECT_EQ(created[1].at("message_id"), boost::json::value(d.id.str()));
  EXPECT_EQ(created[1].at("metadata").at("seq"), -1);
  EXPECT_EQ(created[1].at("mentions"), boost::json::array{"bob"});
}

TEST_P(store_contract, seqs_are_gap_free_from_one_per_channel) {
  const auto alice = make_user("alice");
  const auto a = make_channel(alice, "ca");
  const auto b = make_channel(alice, "cb");
  std::vector<std::int64_t> in_a;
  std::vector<std::int64_t> in_b;
  for (int i = 0; i < 5; ++i) {
    in_a.push_back(send(alice, a, "a" + std::to_string(i)).msg.seq);
    if (i % 2 == 0) in_b.push_back(send(alice, b, "b" + std::to_string(i)).msg.seq);
  }
  EXPECT_EQ(in_a, range(1, 5));
  EXPECT_EQ(in_b, range(1, 3));
  auto ca = run(db().find_channel(a.id, alice.id));
  EXPECT_EQ(ca->last_seq, 5);
  EXPECT_EQ(ca->message_count, 5);
  EXPECT_EQ(run(db().find_channel(b.id, alice.id))->last_seq, 3);
}

TEST_P(store_contract, client_msg_id_is_idempotent_per_author) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  join(c, bob);
  auto first = draft(alice, c, "once");
  first.client_msg_id = "k-1";
  const auto original = send(first);
  ASSERT_FALSE(original.duplicate);

  auto retry = draft(alice, c, "once, retried");
  retry.client_msg_id = "k-1";
  const auto again = send(retry);
  EXPECT_TRUE(again.duplicate);
  EXPECT_EQ(again.msg.id, original.msg.id);
  EXPECT_EQ(again.msg.seq, original.msg.seq);
  EXPECT_EQ(again.msg.content, "once");

  auto other_author = draft(bob, c, "same key, other author");
  other_author.client_msg_id = "k-1";
  const auto bobs = send(other_author);
  EXPECT_FALSE(bobs.duplicate);
  EXPECT_EQ(bobs.msg.seq, 2);

  auto ch = run(db().find_channel(c.id, alice.id));
  EXPECT_EQ(ch->last_seq, 2);
  EXPECT_EQ(ch->message_count, 2);
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.created"), 2);
}

TEST_P(store_contract, replies_count_and_list_in_order) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  const auto root = send(alice, c, "root").msg;
  std::vector<message_id> replies;
  for (int i = 0; i < 3; ++i) {
    auto d = draft(alice, c, "reply " + std::to_string(i));
    d.parent = root.id;
    const auto r = send(d).msg;
    EXPECT_EQ(r.parent, std::optional<message_id>(root.id));
    replies.push_back(r.id);
  }
  send(alice, c, "not in the thread");
  EXPECT_EQ(run(db().find_message(root.id))->reply_count, 3);

  auto listed = run(db().list_replies(root.id, page{0, 50}));
  ASSERT_EQ(listed.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(listed[i].id, replies[i]);
  auto paged = run(db().list_replies(root.id, page{1, 1}));
  ASSERT_EQ(paged.size(), 1u);
  EXPECT_EQ(paged[0].id, replies[1]);

  EXPECT_TRUE(run(db().delete_message(replies[1], alice.id, tick())));
  listed = run(db().list_replies(root.id, page{0, 50}));
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, replies[0]);
  EXPECT_EQ(listed[1].id, replies[2]);
  EXPECT_EQ(run(db().find_message(root.id))->reply_count, 2);
}

TEST_P(store_contract, history_pages_from_the_newest) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  for (int i = 1; i <= 10; ++i) send(alice, c, "m" + std::to_string(i));
  EXPECT_EQ(seqs(c, history_query{}), range(1, 10));
  EXPECT_EQ(seqs(c, history_query{0, 3, {}, {}}), range(8, 10));
  EXPECT_EQ(seqs(c, history_query{3, 3, {}, {}}), range(5, 7));
  EXPECT_EQ(seqs(c, history_query{9, 3, {}, {}}), range(1, 1));
  EXPECT_TRUE(seqs(c, history_query{10, 3, {}, {}}).empty());
  EXPECT_TRUE(seqs(c, history_query{0, 0, {}, {}}).empty());
}

TEST_P(store_contract, history_cursors) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  for (int i = 1; i <= 10; ++i) send(alice, c, "m" + std::to_string(i));
  // before_seq: the newest `limit` below it.
  EXPECT_EQ(seqs(c, history_query{0, 3, 6, {}}), range(3, 5));
  EXPECT_EQ(seqs(c, history_query{0, 50, 4, {}}), range(1, 3));
  EXPECT_EQ(seqs(c, history_query{1, 2, 6, {}}), range(3, 4));  // skips 5, the newest below 6
  EXPECT_TRUE(seqs(c, history_query{0, 3, 1, {}}).empty());
  // after_seq: the oldest `limit` above it.
  EXPECT_EQ(seqs(c, history_query{0, 3, {}, 4}), range(5, 7));
  EXPECT_EQ(seqs(c, history_query{0, 50, {}, 7}), range(8, 10));
  EXPECT_TRUE(seqs(c, history_query{0, 3, {}, 10}).empty());
  EXPECT_EQ(seqs(c, history_query{0, 3, {}, 0}), range(1, 3));
  // Both: the window between them, oldest first.
  EXPECT_EQ(seqs(c, history_query{0, 50, 8, 3}), range(4, 7));
  EXPECT_EQ(seqs(c, history_query{0, 2, 8, 3}), range(4, 5));
}

TEST_P(store_contract, deleted_messages_are_not_listed_but_still_found) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  std::vector<domain::message> sent;
  for (int i = 1; i <= 5; ++i) sent.push_back(send(alice, c, "m" + std::to_string(i)).msg);
  const auto at = tick();
  EXPECT_TRUE(run(db().delete_message(sent[2].id, alice.id, at)));
  EXPECT_FALSE(run(db().delete_message(sent[2].id, alice.id, tick())));
  EXPECT_FALSE(run(db().delete_message(message_id::generate(), alice.id, tick())));

  EXPECT_EQ(seqs(c, history_query{}), (std::vector<std::int64_t>{1, 2, 4, 5}));
  EXPECT_EQ(seqs(c, history_query{0, 2, {}, {}}), (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(seqs(c, history_query{0, 2, {}, 1}), (std::vector<std::int64_t>{2, 4}));
  auto gone = run(db().find_message(sent[2].id));
  ASSERT_TRUE(gone);
  EXPECT_TRUE(gone->is_deleted);
  EXPECT_EQ(gone->updated_at, at);
  auto ch = run(db().find_channel(c.id, alice.id));
  EXPECT_EQ(ch->message_count, 4);
  EXPECT_EQ(ch->last_seq, 5);  // seqs are never reused
  EXPECT_EQ(send(alice, c, "next").msg.seq, 6);
  EXPECT_EQ(outbox_types().back(), "message.created");
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.deleted"), 1);
}

TEST_P(store_contract, edit_sets_is_edited) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  const auto m = send(alice, c, "draft").msg;
  const auto at = tick();
  auto edited = run(db().edit_message(m.id, "final", bob.id, at));
  ASSERT_TRUE(edited);
  EXPECT_EQ(edited->content, "final");
  EXPECT_TRUE(edited->is_edited);
  EXPECT_EQ(edited->updated_at, at);
  EXPECT_EQ(edited->created_at, m.created_at);
  EXPECT_EQ(edited->seq, m.seq);
  ASSERT_TRUE(edited->author_profile);
  EXPECT_EQ(edited->author_profile->username, "alice");
  EXPECT_EQ(run(db().find_message(m.id))->content, "final");
  EXPECT_EQ(outbox_types().back(), "message.edited");

  EXPECT_FALSE(run(db().edit_message(message_id::generate(), "x", alice.id, tick())));
  ASSERT_TRUE(run(db().delete_message(m.id, alice.id, tick())));
  EXPECT_FALSE(run(db().edit_message(m.id, "too late", alice.id, tick())));
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->message_count, 0);
}

TEST_P(store_contract, every_write_has_exactly_its_outbox_row) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  join(c, bob);
  const auto m = send(bob, c, "hi").msg;
  run(db().edit_message(m.id, "hi!", bob.id, tick()));
  run(db().delete_message(m.id, alice.id, tick()));
  run(db().remove_member(c.id, bob.id, bob.id, tick()));
  domain::channel_update u;
  u.name = "renamed";
  u.actor = alice.id;
  u.now = tick();
  ASSERT_TRUE(run(db().update_channel(c.id, u)));
  ASSERT_TRUE(run(db().delete_channel(c.id, alice.id, tick())));
  // Reads and writes without events add nothing.
  run(db().create_session(domain::session{"j", alice.id, tick(), tick(), "", ""}));
  run(db().revoke_session("j", tick()));
  run(db().touch_last_seen(alice.id, tick()));
  run(db().find_user(alice.id));
  EXPECT_EQ(outbox_types(),
            (std::vector<std::string>{"user.registered", "user.registered", "channel.created", "member.added",
                                      "message.created", "message.edited", "message.deleted", "member.removed",
                                      "channel.updated", "channel.deleted"}));
  const auto rows = outbox();
  auto deleted = boost::json::parse(rows[6].payload).as_object();
  EXPECT_EQ(deleted.at("user_id"), boost::json::value(alice.id.str()));  // the deleter
  EXPECT_EQ(deleted.at("is_deleted"), true);
}

// Named coroutines for the concurrency tests (no capturing lambda coroutines).
task<void> send_into(domain::store* db, domain::new_message m, std::vector<domain::created_message>* out) {
  auto r = co_await db->create_message(std::move(m));
  if (!r) throw std::runtime_error(r.err().detail);
  out->push_back(std::move(r).value());
}

TEST_P(store_contract, concurrent_sends_get_every_seq_once) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  const auto other = make_channel(alice, "other");
  constexpr int n = 200;
  std::vector<domain::created_message> done;
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    auto d = draft(alice, i % 4 == 3 ? other : c, "m" + std::to_string(i));
    boost::asio::co_spawn(ctx_, send_into(store_.get(), std::move(d), &done), [&failures](const std::exception_ptr& e) {
      if (e) ++failures;
    });
  }
  ctx_.restart();
  ctx_.run();
  ASSERT_EQ(failures, 0);
  ASSERT_EQ(done.size(), static_cast<std::size_t>(n));
  std::vector<std::int64_t> in_c;
  std::vector<std::int64_t> in_other;
  for (const auto& d : done) (d.msg.channel == c.id ? in_c : in_other).push_back(d.msg.seq);
  std::sort(in_c.begin(), in_c.end());
  std::sort(in_other.begin(), in_other.end());
  EXPECT_EQ(in_c, range(1, 150));
  EXPECT_EQ(in_other, range(1, 50));
  EXPECT_EQ(seqs(c, history_query{0, 1000, {}, {}}), range(1, 150));
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->message_count, 150);
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.created"), n);
}

TEST_P(store_contract, concurrent_retries_of_one_client_msg_id_store_it_once) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  constexpr int n = 40;
  std::vector<domain::created_message> done;
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    auto d = draft(alice, c, "attempt " + std::to_string(i));
    d.client_msg_id = "same";
    boost::asio::co_spawn(ctx_, send_into(store_.get(), std::move(d), &done), [&failures](const std::exception_ptr& e) {
      if (e) ++failures;
    });
  }
  ctx_.restart();
  ctx_.run();
  ASSERT_EQ(failures, 0);
  ASSERT_EQ(done.size(), static_cast<std::size_t>(n));
  const auto originals = std::count_if(done.begin(), done.end(), [](const auto& d) { return !d.duplicate; });
  EXPECT_EQ(originals, 1);
  for (const auto& d : done) {
    EXPECT_EQ(d.msg.id, done.front().msg.id);
    EXPECT_EQ(d.msg.seq, 1);
  }
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->last_seq, 1);
}

TEST_P(store_contract, create_message_checks_channel_membership_and_parent_in_its_transaction) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  const auto other = make_channel(alice, "other");
  auto expect_refused = [&](domain::new_message m, error_kind kind, const char* detail) {
    auto r = run(db().create_message(std::move(m)));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().kind, kind);
    EXPECT_EQ(r.err().detail, detail);
  };
  auto gone = draft(alice, c, "nowhere");
  gone.channel = channel_id::generate();
  expect_refused(gone, error_kind::not_found, domain::text::channel_not_found);
  expect_refused(draft(bob, c, "not a member"), error_kind::forbidden, domain::text::send_denied);
  const auto elsewhere = send(alice, other, "in another channel").msg;
  auto cross = draft(alice, c, "reply across channels");
  cross.parent = elsewhere.id;
  expect_refused(cross, error_kind::bad_request, domain::text::parent_not_found);
  const auto root = send(alice, c, "root").msg;
  ASSERT_TRUE(run(db().delete_message(root.id, alice.id, tick())));
  auto to_deleted = draft(alice, c, "reply to a deleted message");
  to_deleted.parent = root.id;
  expect_refused(to_deleted, error_kind::bad_request, domain::text::parent_not_found);
  // Refusals take no seq and write no event.
  EXPECT_EQ(send(alice, c, "next").msg.seq, 2);
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.created"), 3);
}

TEST_P(store_contract, a_failing_message_fails_alone) {
  const auto alice = make_user("alice");
  const auto c = make_channel(alice, "general");
  constexpr int n = 30;
  std::vector<domain::created_message> done;
  int failures = 0;
  for (int i = 0; i < n; ++i) {
    auto d = draft(alice, c, "m" + std::to_string(i));
    if (i == n / 2) d.parent = message_id::generate();  // no such message: parent_not_found
    boost::asio::co_spawn(ctx_, send_into(store_.get(), std::move(d), &done), [&failures](const std::exception_ptr& e) {
      if (e) ++failures;
    });
  }
  ctx_.restart();
  ctx_.run();
  EXPECT_EQ(failures, 1);
  ASSERT_EQ(done.size(), static_cast<std::size_t>(n - 1));
  std::vector<std::int64_t> got;
  for (const auto& d : done) got.push_back(d.msg.seq);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, range(1, n - 1));
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->last_seq, n - 1);
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.created"), n - 1);
}

// A concurrent burst: the group commit writes the queued messages together,
// yet each gets the outcome it would get alone, and the created ones take
// consecutive seqs in queue order.
TEST_P(store_contract, one_group_commit_decides_each_message_on_its_own) {
  const auto alice = make_user("alice");
  const auto bob = make_user("bob");
  const auto c = make_channel(alice, "general");
  const auto other = make_channel(alice, "other");
  const auto root = send(alice, c, "root").msg;          // seq 1
  const auto gone = send(alice, c, "deleted root").msg;  // seq 2
  ASSERT_TRUE(run(db().delete_message(gone.id, alice.id, tick())));
  const auto elsewhere = send(alice, other, "elsewhere").msg;  // other: seq 1
  auto keyed = draft(alice, c, "kept");
  keyed.client_msg_id = "k-1";
  const auto kept = send(keyed).msg;  // seq 3
  const auto reply = [this, &alice, &c](const domain::message& parent, const std::string& content) {
    auto d = draft(alice, c, content);
    d.parent = parent.id;
    return d;
  };
  const auto expect_refused = [](const result<domain::created_message>& r, error_kind kind, const char* detail) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.err().kind, kind);
    EXPECT_EQ(r.err().detail, detail);
  };

  std::vector<domain::new_message> burst;
  burst.push_back(draft(alice, c, "plain"));
  burst.push_back(draft(alice, c, "kept, retried"));
  burst.back().client_msg_id = "k-1";
  burst.push_back(draft(bob, c, "not a member"));
  burst.push_back(reply(root, "reply 1"));
  burst.push_back(draft(alice, c, "nowhere"));
  burst.back().channel = channel_id::generate();
  burst.push_back(reply(gone, "to a deleted root"));
  burst.push_back(draft(alice, other, "in the other channel"));
  burst.push_back(reply(elsewhere, "across channels"));
  burst.push_back(reply(root, "reply 2"));
  burst.push_back(draft(alice, c, "keyed"));
  burst.back().client_msg_id = "k-2";
  const auto out = send_together(burst);
  ASSERT_EQ(out.size(), burst.size());

  ASSERT_TRUE(out[1]);
  EXPECT_TRUE(out[1]->duplicate);
  EXPECT_EQ(out[1]->msg.id, kept.id);
  EXPECT_EQ(out[1]->msg.seq, 3);
  EXPECT_EQ(out[1]->msg.content, "kept");
  expect_refused(out[2], error_kind::forbidden, domain::text::send_denied);
  expect_refused(out[4], error_kind::not_found, domain::text::channel_not_found);
  expect_refused(out[5], error_kind::bad_request, domain::text::parent_not_found);
  expect_refused(out[7], error_kind::bad_request, domain::text::parent_not_found);
  const std::vector<std::pair<std::size_t, std::int64_t>> created{{0, 4}, {3, 5}, {6, 2}, {8, 6}, {9, 7}};
  std::map<std::string, std::int64_t> seq_of;
  for (const auto& [i, seq] : created) {
    ASSERT_TRUE(out[i]) << "message " << i << ": " << out[i].err().detail;
    const auto& m = out[i]->msg;
    EXPECT_FALSE(out[i]->duplicate) << i;
    EXPECT_EQ(m.id, burst[i].id) << i;
    EXPECT_EQ(m.channel, burst[i].channel) << i;
    EXPECT_EQ(m.content, burst[i].content) << i;
    EXPECT_EQ(m.parent, burst[i].parent) << i;
    EXPECT_EQ(m.client_msg_id, burst[i].client_msg_id) << i;
    EXPECT_EQ(m.seq, seq) << i;
    ASSERT_TRUE(m.author_profile) << i;
    EXPECT_EQ(m.author_profile->username, "alice");
    seq_of[m.id.str()] = m.seq;
  }

  EXPECT_EQ(run(db().find_message(root.id))->reply_count, 2);
  EXPECT_EQ(seqs(c, history_query{}), (std::vector<std::int64_t>{1, 3, 4, 5, 6, 7}));
  const auto ch = run(db().find_channel(c.id, alice.id));
  EXPECT_EQ(ch->last_seq, 7);
  EXPECT_EQ(ch->message_count, 6);
  const auto oc = run(db().find_channel(other.id, alice.id));
  EXPECT_EQ(oc->last_seq, 2);
  EXPECT_EQ(oc->message_count, 2);
  // One event per created message, carrying its seq; nothing for the others.
  std::size_t events = 0;
  for (const auto& row : outbox()) {
    if (row.event_type != "message.created") continue;
    ++events;
    const auto payload = boost::json::parse(row.payload).as_object();
    const auto it = seq_of.find(std::string(payload.at("message_id").as_string()));
    if (it != seq_of.end()) EXPECT_EQ(payload.at("seq"), it->second);
  }
  EXPECT_EQ(events, 4 + created.size());

  // The same client_msg_id twice in one burst: the first is stored, the second
  // reads as its duplicate, and the other messages keep their own outcomes.
  std::vector<domain::new_message> repeated;
  repeated.push_back(draft(alice, c, "before"));
  repeated.push_back(draft(alice, c, "first k-3"));
  repeated.back().client_msg_id = "k-3";
  repeated.push_back(draft(bob, c, "still not a member"));
  repeated.push_back(draft(alice, c, "second k-3"));
  repeated.back().client_msg_id = "k-3";
  repeated.push_back(reply(root, "reply 3"));
  const auto again = send_together(repeated);
  ASSERT_EQ(again.size(), repeated.size());
  ASSERT_TRUE(again[0]);
  EXPECT_EQ(again[0]->msg.seq, 8);
  ASSERT_TRUE(again[1]);
  EXPECT_FALSE(again[1]->duplicate);
  EXPECT_EQ(again[1]->msg.seq, 9);
  expect_refused(again[2], error_kind::forbidden, domain::text::send_denied);
  ASSERT_TRUE(again[3]);
  EXPECT_TRUE(again[3]->duplicate);
  EXPECT_EQ(again[3]->msg.id, repeated[1].id);
  EXPECT_EQ(again[3]->msg.content, "first k-3");
  ASSERT_TRUE(again[4]);
  EXPECT_EQ(again[4]->msg.seq, 10);
  EXPECT_EQ(run(db().find_message(root.id))->reply_count, 3);
  EXPECT_EQ(run(db().find_channel(c.id, alice.id))->last_seq, 10);
  const auto types = outbox_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), "message.created"), 4 + 5 + 3);
}

}  // namespace
}  // namespace sl::test
