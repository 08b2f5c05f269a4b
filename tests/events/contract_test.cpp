// The event log port's contract (domain/event_log.hpp), for every backend:
// what an appender and consumer groups see. Nothing here is specific to one
// backend (Kafka-only behaviour is in kafka_test.cpp).

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "event_log_fixture.hpp"

namespace sl::test {
namespace {

using domain::log_event;
using event_log_contract = event_log_fixture;

// Empty without SIGNALINK_TEST_KAFKA_BOOTSTRAP: then it registers no test at all.
INSTANTIATE_TEST_SUITE_P(database, event_log_contract, testing::ValuesIn(database_backend()), backend_name);
INSTANTIATE_TEST_SUITE_P(kafka, event_log_contract, testing::ValuesIn(kafka_if_configured()), backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(event_log_contract);

std::set<std::string> ids_of(const std::vector<log_event>& es) {
  std::set<std::string> ids;
  for (const auto& e : es) ids.insert(e.id.str());
  return ids;
}

std::vector<log_event> events_for(const std::string& topic, std::size_t n, std::size_t keys) {
  std::vector<log_event> es;
  for (std::size_t i = 0; i < n; ++i) es.push_back(make_event(topic, "key-" + std::to_string(i % keys)));
  return es;
}

TEST_P(event_log_contract, names_itself_and_answers_check) {
  EXPECT_TRUE(log().name() == "kafka" || log().name() == "database") << log().name();
  EXPECT_TRUE(await(log().check()));
}

TEST_P(event_log_contract, append_then_a_new_group_reads_every_field_back) {
  const auto topic = new_topic();
  std::vector<log_event> sent;
  auto a = make_event(topic, "channel-a",
                      R"({"event_id":"x","content":"héllo ✓ 日本語 🎉","esc":"\"\\\n","n":9007199254740993})",
                      "message.created");
  a.headers = {{"trace_id", "4bf92f3577b34da6"}, {"source", "tést ✓"}};
  auto b = make_event(topic, "channel-b", R"({"event_id":"y","content":""})", "message.deleted");
  auto c = make_event(topic, "user-1", R"({"event_id":"z"})", "presence.online");
  c.created_at = timestamp(std::chrono::milliseconds(1'700'000'000'123));
  sent = {a, b, c};
  await(log().sink().append(sent));

  auto& s = subscribe(unique_group(), {topic});
  const auto got = read(s, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  for (const auto& want : sent) {
    const auto it = std::find_if(got.begin(), got.end(), [&](const log_event& e) { return e.id == want.id; });
    ASSERT_NE(it, got.end()) << "missing " << want.id.str();
    EXPECT_EQ(it->topic, want.topic);
    EXPECT_EQ(it->key, want.key);
    EXPECT_EQ(it->event_type, want.event_type);
    EXPECT_EQ(it->payload, want.payload);
    EXPECT_EQ(it->created_at, want.created_at);
    if (traits().keeps_headers) EXPECT_EQ(it->headers, want.headers);
    EXPECT_GE(it->partition, 0);
    EXPECT_GE(it->offset, 0);
  }
}

TEST_P(event_log_contract, order_is_kept_per_key_over_1000_events) {
  const auto topic = new_topic();
  constexpr std::size_t count = 1000;
  constexpr std::size_t keys = 7;
  const auto sent = events_for(topic, count, keys);
  std::map<std::string, std::size_t> index;  // id -> position in `sent`
  for (std::size_t i = 0; i < sent.size(); ++i) index[sent[i].id.str()] = i;
  for (std::size_t from = 0; from < count; from += 100)
    await(log().sink().append(
        {sent.begin() + static_cast<std::ptrdiff_t>(from), sent.begin() + static_cast<std::ptrdiff_t>(from + 100)}));

  auto& s = subscribe(unique_group(), {topic});
  const auto got = read(s, count, 60s);
  ASSERT_EQ(got.size(), count);
  EXPECT_EQ(ids_of(got), ids_of(sent));
  std::map<std::string, std::size_t> last;  // key -> position of the last one seen
  for (const auto& e : got) {
    const auto at = index.at(e.id.str());
    EXPECT_EQ(e.key, sent[at].key);
    if (auto it = last.find(e.key); it != last.end()) EXPECT_GT(at, it->second) << "key " << e.key;
    last[e.key] = at;
  }
  EXPECT_EQ(last.size(), keys);
}

TEST_P(event_log_contract, the_same_group_resumes_after_what_it_committed) {
  const auto topic = new_topic();
  const auto sent = events_for(topic, 30, 6);
  await(log().sink().append(sent));
  const auto group = unique_group();

  auto& first = subscribe(group, {topic});
  const auto all = read(first, sent.size());
  ASSERT_EQ(all.size(), sent.size());
  // A prefix of what poll returned is a prefix per partition.
  const std::vector<log_event> handled(all.begin(), all.begin() + 12);
  const std::vector<log_event> rest(all.begin() + 12, all.end());
  await(first.commit(handled));
  close(first);

  auto& second = subscribe(group, {topic});
  const auto resumed = read(second, rest.size());
  EXPECT_EQ(ids_of(resumed), ids_of(rest));
  EXPECT_TRUE(await(second.poll(100, 1s)).empty());  // nothing committed is read again
  close(second);                                     // without committing

  auto& third = subscribe(group, {topic});
  EXPECT_EQ(ids_of(read(third, rest.size())), ids_of(rest));
}

TEST_P(event_log_contract, two_groups_each_see_everything) {
  const auto topic = new_topic();
  const auto sent = events_for(topic, 20, 4);
  await(log().sink().append(sent));
  auto& a = subscribe(unique_group(), {topic});
  auto& b = subscribe(unique_group(), {topic});
  const auto got_a = read(a, sent.size());
  await(a.commit(got_a));
  EXPECT_EQ(ids_of(got_a), ids_of(sent));
  EXPECT_EQ(ids_of(read(b, sent.size())), ids_of(sent));  // a's commit is not b's
}

TEST_P(event_log_contract, a_stream_reads_several_topics) {
  const auto t1 = new_topic();
  const auto t2 = new_topic();
  auto sent = events_for(t1, 5, 2);
  for (auto& e : events_for(t2, 5, 2)) sent.push_back(e);
  await(log().sink().append(sent));
  auto& s = subscribe(unique_group(), {t1, t2});
  const auto got = read(s, sent.size());
  EXPECT_EQ(ids_of(got), ids_of(sent));
  for (const auto& e : got) EXPECT_TRUE(e.topic == t1 || e.topic == t2) << e.topic;
}

TEST_P(event_log_contract, lag_goes_down_after_commits) {
  const auto topic = new_topic();
  const auto sent = events_for(topic, 10, 3);
  await(log().sink().append(sent));
  auto& s = subscribe(unique_group(), {topic});
  EXPECT_EQ(await(s.lag()), 10);
  const auto got = read(s, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_EQ(await(s.lag()), 10);  // read is not handled
  await(s.commit({got.begin(), got.begin() + 4}));
  EXPECT_EQ(await(s.lag()), 6);
  await(s.commit(got));
  EXPECT_EQ(await(s.lag()), 0);
  await(log().sink().append(events_for(topic, 3, 3)));
  EXPECT_EQ(await(s.lag()), 3);
}

TEST_P(event_log_contract, ensure_topics_is_idempotent_and_creates_the_dead_letter_topic) {
  const auto topic = new_topic();
  await(log().ensure_topics({topic}));
  await(log().ensure_topics({topic, topic, topic + std::string(domain::dead_letter_suffix)}));
  const auto dlq = topic + std::string(domain::dead_letter_suffix);
  auto poisoned = make_event(dlq, "key", R"({"event_id":"poison"})", "message.created");
  await(log().sink().append({poisoned}));
  auto& s = subscribe(unique_group(), {dlq});
  const auto got = read(s, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, poisoned.id);
  EXPECT_EQ(got[0].topic, dlq);
}

TEST_P(event_log_contract, poll_with_nothing_to_read_returns_empty_after_about_wait) {
  const auto topic = new_topic();
  auto& s = subscribe(unique_group(), {topic});
  for (const auto wait : {300ms, 800ms}) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_TRUE(await(s.poll(10, wait)).empty());
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, wait - 20ms);
    EXPECT_LT(took, wait + 1500ms);
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(await(s.poll(10, 0ms)).empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
}

TEST_P(event_log_contract, events_appended_while_a_stream_waits_wake_it) {
  const auto topic = new_topic();
  auto& s = subscribe(unique_group(), {topic});
  EXPECT_TRUE(await(s.poll(10, 2s)).empty());  // joined and waiting at the end of the topic
  const auto e = make_event(topic, "k");
  auto f = boost::asio::co_spawn(ctx_, s.poll(10, 20s), boost::asio::use_future);
  const auto start = std::chrono::steady_clock::now();
  await(log().sink().append({e}));
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  const auto got = f.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // woken, not timed out
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].id, e.id);
}

TEST_P(event_log_contract, empty_appends_and_commits_complete) {
  const auto topic = new_topic();
  await(log().sink().append({}));
  auto& s = subscribe(unique_group(), {topic});
  await(s.commit({}));
}

TEST_P(event_log_contract, stop_is_idempotent_and_appends_after_it_throw) {
  auto& other = open_log();
  const auto topic = new_topic(&other);
  await(other.sink().append({make_event(topic, "k")}));
  await(other.stop());
  await(other.stop());
  EXPECT_THROW(await(other.sink().append({make_event(topic, "k")})), infrastructure_error);
  EXPECT_FALSE(await(other.check()));
}

}  // namespace
}  // namespace sl::test
