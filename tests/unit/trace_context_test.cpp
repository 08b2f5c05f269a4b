#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.hpp"
#include "base/trace_context.hpp"
#include "net/traced_executor.hpp"

using namespace sl;

namespace {
constexpr const char* example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
}  // namespace

TEST(TraceContext, ParsesAndFormatsVersion00) {
  const auto t = trace_context::parse(example);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->span_id_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, 1);
  EXPECT_EQ(t->traceparent(), example);
}

TEST(TraceContext, RefusesMalformedValues) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // version 00 has nothing after
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // uppercase
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // not hex
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",    // separators
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",    // misplaced dash
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",    // flags not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later version, no dash after
       })
    EXPECT_FALSE(trace_context::parse(bad)) << bad;
}

TEST(TraceContext, ReadsLaterVersionsByTheirFirstFields) {
  const auto t = trace_context::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->traceparent(), example);  // written back as version 00
}

TEST(TraceContext, ContinuesATraceOrStartsOne) {
  const auto child = continue_trace(example);
  EXPECT_EQ(child.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(child.span_id_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(child.flags, 1);
  const auto fresh = continue_trace("garbage");
  EXPECT_NE(fresh.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(trace_context::parse(fresh.traceparent()));
  EXPECT_NE(continue_trace("").trace_id, fresh.trace_id);
}

namespace {
boost::asio::awaitable<void> keeps_its_span(int delay_ms, bool* kept) {
  const auto mine = trace_context::fresh();
  begin_span(mine);
  *kept = true;
  for (int i = 0; i < 3; ++i) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, std::chrono::milliseconds(delay_ms));
    co_await t.async_wait(boost::asio::use_awaitable);
    const auto* now = current_trace();
    if (now == nullptr || *now != mine) *kept = false;
  }
}
}  // namespace

TEST(TracedExecutor, EachCoroutineKeepsItsSpanAcrossCoAwait) {
  boost::asio::io_context io;
  bool kept[3] = {false, false, false};
  // Interleaved waits: each resumption follows another coroutine's.
  for (int i = 0; i < 3; ++i)
    boost::asio::co_spawn(net::traced(io.get_executor()), keeps_its_span(i + 1, &kept[i]), boost::asio::detached);
  io.run();
  EXPECT_TRUE(kept[0] && kept[1] && kept[2]);
  EXPECT_EQ(current_trace(), nullptr);  // nothing leaks outside
}

namespace {
boost::asio::awaitable<void> note_span(std::optional<trace_context>* seen) {
  if (const auto* t = current_trace()) *seen = *t;
  co_return;
}
}  // namespace

TEST(TracedExecutor, StartsWithTheGivenSpan) {
  boost::asio::io_context io;
  const auto span = trace_context::fresh();
  std::optional<trace_context> seen;
  boost::asio::co_spawn(net::traced(io.get_executor(), span), note_span(&seen), boost::asio::detached);
  io.run();
  EXPECT_EQ(seen, span);
}

TEST(TracedExecutor, WrapsAnIoContextExecutorAsItsConcreteType) {
  // The concrete type fits any_io_executor's inline buffer; any_io_executor
  // inside would put every per-handler copy on the heap.
  boost::asio::io_context io;
  using io_traced = net::basic_traced_executor<boost::asio::io_context::executor_type>;
  const auto ex = net::traced(io.get_executor());
  EXPECT_NE(ex.target<io_traced>(), nullptr);
  const boost::asio::any_io_executor tracked =
      boost::asio::prefer(ex, boost::asio::execution::outstanding_work.tracked);
  EXPECT_EQ(tracked.target<io_traced>(), nullptr);
  EXPECT_NE(tracked.target<net::basic_traced_executor<decltype(boost::asio::prefer(
                io.get_executor(), boost::asio::execution::outstanding_work.tracked))>>(),
            nullptr);
  // Anything else keeps working, wrapped as any_io_executor.
  const auto other = net::traced(net::traced(io.get_executor()));
  EXPECT_NE(other.target<net::basic_traced_executor<boost::asio::any_io_executor>>(), nullptr);
}

TEST(LogSpec, ParsesALevelAndComponentLevels) {
  const auto s = log::parse_spec("warning, gateway=debug ,events=INFO");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->base, log::level::warn);
  ASSERT_EQ(s->components.size(), 2u);
  EXPECT_EQ(s->components[0], (std::pair<std::string, log::level>{"gateway", log::level::debug}));
  EXPECT_EQ(s->components[1], (std::pair<std::string, log::level>{"events", log::level::info}));
  EXPECT_EQ(log::format_spec(*s), "warning,gateway=debug,events=info");
  EXPECT_EQ(log::parse_spec("gateway=debug")->base, log::level::info);
}

TEST(LogSpec, RefusesUnknownLevelsAndComponents) {
  std::string why;
  EXPECT_FALSE(log::parse_spec("loud", &why));
  EXPECT_NE(why.find("loud"), std::string::npos);
  EXPECT_FALSE(log::parse_spec("info,nosuch=debug", &why));
  EXPECT_NE(why.find("nosuch"), std::string::npos);
  EXPECT_FALSE(log::parse_spec("info,gateway=loud"));
  EXPECT_FALSE(log::parse_spec("info,debug"));
  EXPECT_FALSE(log::parse_spec("info,,gateway=debug"));
  EXPECT_FALSE(log::parse_spec(""));
}

TEST(LogSpec, ComponentLevelsDecideWhatIsEnabled) {
  const auto before = log::current_spec();
  const char* ws = "/x/src/transport/ws/session.cpp";
  const char* http = "/x/src/transport/http/pipeline.cpp";
  log::set_spec(*log::parse_spec("warning,gateway=debug"));
  for (int twice = 0; twice < 2; ++twice) {  // the second time from the per-thread cache
    EXPECT_TRUE(log::enabled(log::level::debug, ws));
    EXPECT_FALSE(log::enabled(log::level::info, http));
    EXPECT_TRUE(log::enabled(log::level::warn, http));
  }
  // A new spec applies to files already cached.
  log::set_spec(*log::parse_spec("off,http=info"));
  EXPECT_FALSE(log::enabled(log::level::error, ws));
  EXPECT_TRUE(log::enabled(log::level::info, http));
  EXPECT_FALSE(log::enabled(log::level::debug, http));
  log::set_spec(before);
}

TEST(LogComponent, NamesTheSourceDirectory) {
  EXPECT_EQ(log::component_of("/work/repo/src/transport/http/pipeline.cpp"), "http");
  EXPECT_EQ(log::component_of("../../src/transport/ws/session.cpp"), "gateway");
  EXPECT_EQ(log::component_of("src/storage/sqlite/executor.cpp"), "storage");
  EXPECT_EQ(log::component_of("/a/src/storage/postgres/pg_store.cpp"), "storage");
  EXPECT_EQ(log::component_of("/a/src/broker/redis/redis_broker.cpp"), "broker");
  EXPECT_EQ(log::component_of("/a/src/events/kafka/detail/client.cpp"), "events");
  EXPECT_EQ(log::component_of("/a/src/analytics/aggregator.cpp"), "analytics");
  EXPECT_EQ(log::component_of("/a/src/notify/notifier.cpp"), "notifier");
  EXPECT_EQ(log::component_of("/a/src/delivery/webhook_client.cpp"), "delivery");
  EXPECT_EQ(log::component_of("/a/src/app/main.cpp"), "app");
  EXPECT_EQ(log::component_of("/home/mysrc/src/base/log.cpp"), "base");
  EXPECT_EQ(log::component_of("/a/tests/unit/x.cpp"), "other");
}
