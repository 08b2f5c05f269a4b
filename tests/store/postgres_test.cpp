// PostgreSQL-only behaviour: migrations, URL forms, connection loss and group
// commit. Registered only when SIGNALINK_TEST_PG_URL is set.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "domain/texts.hpp"
#include "storage/postgres/detail/array_literal.hpp"
#include "storage/postgres/pg_connection.hpp"
#include "storage/postgres/pg_store.hpp"
#include "store_fixture.hpp"

namespace sl::test {
namespace {

namespace pg = storage::postgres;

class postgres_store : public testing::TestWithParam<backend> {
 protected:
  std::unique_ptr<domain::store> open_store(std::string url, unsigned pool_size = 2) {
    pg::options o;
    o.url = std::move(url);
    o.pool_size = pool_size;
    o.connect_timeout = std::chrono::milliseconds(2000);
    return run(ctx_, pg::open(ctx_.get_executor(), o));
  }
  void close(std::unique_ptr<domain::store>& s) {
    s.reset();
    ctx_.restart();
    ctx_.run();
  }

  boost::asio::io_context ctx_;
  scratch_pg_database database_;
};

// Empty without SIGNALINK_TEST_PG_URL: then the suite registers no test at all.
INSTANTIATE_TEST_SUITE_P(postgres, postgres_store, testing::ValuesIn(postgres_if_configured()), backend_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(postgres_store);

task<void> migrate_into(std::string url, int* done) {
  co_await pg::migrate(co_await boost::asio::this_coro::executor, std::move(url));
  ++*done;
}

TEST_P(postgres_store, migrations_apply_once_even_from_concurrent_starters) {
  int done = 0;
  int failures = 0;
  for (int i = 0; i < 3; ++i)
    boost::asio::co_spawn(ctx_, migrate_into(database_.url(), &done), [&failures](const std::exception_ptr& e) {
      if (e) ++failures;
    });
  ctx_.run();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(done, 3);
  const std::vector<std::string> all{"0001_init.sql", "0002_event_log.sql", "0003_analytics.sql",
                                     "0004_notifications.sql", "0005_trace_context.sql"};
  EXPECT_EQ(database_.query("SELECT version FROM schema_migrations ORDER BY version"), all);
  run(ctx_, pg::migrate(ctx_.get_executor(), database_.url()));
  EXPECT_EQ(database_.query("SELECT count(*) FROM schema_migrations"), std::vector<std::string>{"5"});
  EXPECT_EQ(database_.query("SELECT count(*) FROM outbox"), std::vector<std::string>{"0"});
}

TEST_P(postgres_store, accepts_both_url_schemes) {
  auto url = database_.url();
  ASSERT_EQ(url.rfind("postgresql://", 0), 0u) << "SIGNALINK_TEST_PG_URL should be a postgresql:// URL";
  auto a = open_store(url);
  EXPECT_TRUE(run(ctx_, a->ping()));
  close(a);
  auto b = open_store("postgres://" + url.substr(std::string("postgresql://").size()));
  EXPECT_TRUE(run(ctx_, b->ping()));
  close(b);
}

TEST_P(postgres_store, open_fails_when_the_server_is_unreachable) {
  EXPECT_THROW(open_store("postgresql://signalink:signalink@127.0.0.1:1/signalink"), std::runtime_error);
  EXPECT_THROW(open_store(with_database(database_.url(), "no_such_database_here")), std::runtime_error);
}

TEST_P(postgres_store, dropped_connections_are_replaced) {
  auto s = open_store(database_.url(), 2);
  ASSERT_TRUE(run(ctx_, s->ping()));
  const auto killed =
      database_.admin_query("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
                            database_.name() + "' AND pid <> pg_backend_pid()");
  ASSERT_EQ(killed.size(), 1u);
  EXPECT_GE(std::stoi(killed[0]), 2);  // the pool's two (the migration's own may still be exiting)
  // Each dead connection fails the call that finds it, then is replaced.
  bool up = false;
  for (int i = 0; i < 4 && !up; ++i) up = run(ctx_, s->ping());
  EXPECT_TRUE(up);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(run(ctx_, s->ping()));
  EXPECT_FALSE(run(ctx_, s->find_user(user_id::generate())));
  close(s);
}

task<void> send_one(domain::store* db, domain::new_message m, int* done) {
  if (co_await db->create_message(std::move(m))) ++*done;
}

TEST_P(postgres_store, concurrent_messages_share_transactions) {
  auto s = open_store(database_.url(), 4);
  auto now = *parse_iso("2026-01-01T00:00:00Z");
  const auto alice =
      run(ctx_, s->create_user(domain::new_user{user_id::generate(), "alice", "a@example.com", "h", {}, now})).value();
  const auto c = run(ctx_, s->create_channel(domain::new_channel{
                               channel_id::generate(), "general", {}, false, alice.id, member_id::generate(), now}))
                     .value();
  constexpr int n = 300;
  int done = 0;
  for (int i = 0; i < n; ++i) {
    domain::new_message m;
    m.id = message_id::generate();
    m.channel = c.id;
    m.author = alice.id;
    m.content = "m" + std::to_string(i);
    m.now = now;
    boost::asio::co_spawn(ctx_, send_one(s.get(), std::move(m), &done), boost::asio::detached);
  }
  ctx_.restart();
  ctx_.run();
  EXPECT_EQ(done, n);
  const auto transactions = std::stoi(database_.query("SELECT count(DISTINCT xmin::text) FROM messages").at(0));
  EXPECT_GE(transactions, 1);
  EXPECT_LT(transactions, n / 10) << "messages were not group-committed";
  EXPECT_EQ(database_.query("SELECT max(seq) - min(seq) + 1 - count(*) FROM messages"), std::vector<std::string>{"0"});
  close(s);
}

task<void> send_keeping(domain::store* db, domain::new_message m,
                        std::optional<result<domain::created_message>>* outcome) {
  outcome->emplace(co_await db->create_message(std::move(m)));
}

// The statuses of one batch come back row by row: a batch mixing every
// outcome is still written by one transaction.
TEST_P(postgres_store, a_batch_mixing_outcomes_commits_in_one_transaction) {
  auto s = open_store(database_.url(), 4);
  auto now = *parse_iso("2026-01-01T00:00:00Z");
  const auto alice =
      run(ctx_, s->create_user(domain::new_user{user_id::generate(), "alice", "a@example.com", "h", {}, now})).value();
  const auto bob =
      run(ctx_, s->create_user(domain::new_user{user_id::generate(), "bob", "b@example.com", "h", {}, now})).value();
  const auto c = run(ctx_, s->create_channel(domain::new_channel{
                               channel_id::generate(), "general", {}, false, alice.id, member_id::generate(), now}))
                     .value();
  // The first message is written alone; the rest queue behind it and form one batch.
  constexpr int n = 30;
  std::vector<std::optional<result<domain::created_message>>> out(n);
  for (int i = 0; i < n; ++i) {
    domain::new_message m;
    m.id = message_id::generate();
    m.channel = c.id;
    m.author = i % 3 == 1 ? bob.id : alice.id;
    m.content = "m" + std::to_string(i);
    if (i % 3 == 2) m.parent = message_id::generate();
    m.now = now;
    boost::asio::co_spawn(ctx_, send_keeping(s.get(), std::move(m), &out[i]), boost::asio::detached);
  }
  ctx_.restart();
  ctx_.run();
  std::int64_t next_seq = 1;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(out[i]) << i;
    const auto& r = *out[i];
    if (i % 3 == 0) {
      ASSERT_TRUE(r) << i << ": " << r.err().detail;
      EXPECT_EQ(r->msg.seq, next_seq++) << i;
    } else {
      ASSERT_FALSE(r) << i;
      EXPECT_EQ(r.err().detail, i % 3 == 1 ? domain::text::send_denied : domain::text::parent_not_found);
    }
  }
  EXPECT_EQ(database_.query("SELECT count(DISTINCT xmin::text) FROM messages WHERE seq > 1"),
            std::vector<std::string>{"1"});
  EXPECT_EQ(database_.query("SELECT last_seq FROM channels"), std::vector<std::string>{std::to_string(n / 3)});
  EXPECT_EQ(database_.query("SELECT count(*) FROM outbox WHERE event_type = 'message.created'"),
            std::vector<std::string>{std::to_string(n / 3)});
  close(s);
}

using pg::pg_connection;
using pg::pg_statement;

task<void> pipeline_reports_each_statement(std::string url) {
  auto conn = co_await pg_connection::connect(co_await boost::asio::this_coro::executor, url, std::chrono::seconds(2));
  std::vector<pg_statement> batch;
  batch.emplace_back("SELECT $1::int + 1", "add_one");
  batch.back().integer(41);
  batch.emplace_back("SELECT 1/0");
  batch.emplace_back("SELECT 2");
  auto results = co_await conn->exec(batch, std::chrono::seconds(2));
  EXPECT_TRUE(results[0].ok());
  EXPECT_EQ(results[0].text(0, 0), "42");
  EXPECT_FALSE(results[1].ok());
  EXPECT_EQ(results[1].sqlstate(), "22012");
  EXPECT_TRUE(results[2].aborted());
  EXPECT_TRUE(conn->reusable());
  // The prepared statement is reused; a broken one reports its own error.
  auto again = co_await conn->exec(pg_statement("SELECT $1::int + 1", "add_one").integer(1), std::chrono::seconds(2));
  EXPECT_EQ(again.text(0, 0), "2");
  auto bad = co_await conn->exec(pg_statement("SELEC nonsense", "bad_sql"), std::chrono::seconds(2));
  EXPECT_EQ(bad.sqlstate(), "42601");
  EXPECT_TRUE(conn->reusable());
}

TEST_P(postgres_store, pipeline_reports_each_statement) { run(ctx_, pipeline_reports_each_statement(database_.url())); }

task<void> slow_query_times_out(std::string url) {
  auto conn = co_await pg_connection::connect(co_await boost::asio::this_coro::executor, url, std::chrono::seconds(2));
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW(co_await conn->exec(pg_statement("SELECT pg_sleep(3)"), std::chrono::milliseconds(200)), pg::pg_error);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_TRUE(conn->broken());
  EXPECT_FALSE(conn->reusable());
  EXPECT_THROW(co_await conn->exec(pg_statement("SELECT 1"), std::chrono::seconds(1)), pg::pg_error);
}

TEST_P(postgres_store, a_slow_query_times_out_and_breaks_its_connection) {
  run(ctx_, slow_query_times_out(database_.url()));
}

task<void> array_literals_round_trip(std::string url) {
  const std::vector<std::optional<std::string>> values{"plain",
                                                       "",
                                                       " spaced  ",
                                                       "a,b",
                                                       "{x}",
                                                       "\"quoted\"",
                                                       "back\\slash\\",
                                                       "\\\"",
                                                       "NULL",
                                                       std::nullopt,
                                                       "null",
                                                       "tab\tnew\nline",
                                                       "'single'",
                                                       "caf\xc3\xa9 \xe2\x9c\x93",
                                                       "{\"json\":[1,\"2\"]}"};
  pg::detail::array_literal a;
  for (const auto& v : values) a.add_or_null(v);
  EXPECT_EQ(a.size(), values.size());
  auto conn = co_await pg_connection::connect(co_await boost::asio::this_coro::executor, url, std::chrono::seconds(2));
  auto r = co_await conn->exec(
      pg_statement("SELECT v IS NULL, v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i").text(a.str()),
      std::chrono::seconds(2));
  r.expect_ok("round trip");
  EXPECT_EQ(r.rows(), static_cast<int>(values.size()));
  for (int i = 0; i < r.rows() && i < static_cast<int>(values.size()); ++i) {
    const auto& want = values[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.text(i, 0), want ? "f" : "t") << i;
    if (want) EXPECT_EQ(r.text(i, 1), *want) << i;
  }
  auto empty = co_await conn->exec(
      pg_statement("SELECT cardinality($1::text[])").text(pg::detail::array_literal().str()), std::chrono::seconds(2));
  EXPECT_EQ(empty.text(0, 0), "0");
}

TEST_P(postgres_store, array_literals_round_trip) {
  pg::detail::array_literal a;
  a.add("a\"b").add_null().add("c\\d").add("");
  EXPECT_EQ(a.str(), R"({"a\"b",NULL,"c\\d",""})");
  EXPECT_EQ(pg::detail::array_literal().str(), "{}");
  EXPECT_THROW(a.add(std::string_view("x\0y", 3)), pg::pg_error);
  EXPECT_EQ(a.size(), 4u);
  EXPECT_EQ(a.str(), R"({"a\"b",NULL,"c\\d",""})");
  run(ctx_, array_literals_round_trip(database_.url()));
}

TEST_P(postgres_store, text_with_a_nul_byte_is_refused) {
  EXPECT_THROW(pg_statement("SELECT $1").text(std::string_view("a\0b", 3)), pg::pg_error);
}

}  // namespace
}  // namespace sl::test
