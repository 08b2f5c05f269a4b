// Hub fan-out: on_event of one new message to N live subscribers of a channel, the per-recipient cost.

#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "broker/local/local_broker.hpp"
#include "domain/auth_service.hpp"
#include "domain/message_service.hpp"
#include "sample.hpp"
#include "security/argon2_hasher.hpp"
#include "security/jwt_codec.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "transport/ws/hub.hpp"

namespace {

using namespace sl;
namespace asio = boost::asio;

// A socket that only counts what it is given and keeps the last frame (as a
// session's queue would hold it), so that delivery costs what the hub does.
struct counting_subscriber final : ws::subscriber {
  explicit counting_subscriber(domain::principal p) : p_(std::move(p)) {}
  const domain::principal& who() const noexcept override { return p_; }
  void send(const ws::frame_ptr& f) override {
    ++frames;
    last = f;
  }
  void removed(const channel_id&, const ws::frame_ptr& f) override { last = f; }
  void close(std::uint16_t, std::string) override { ++closes; }

  domain::principal p_;
  std::int64_t frames = 0;
  std::int64_t closes = 0;
  ws::frame_ptr last;
};

// A completion handler for setup coroutines: their failure ends the run.
void rethrow(const std::exception_ptr& ep) {
  if (ep) std::rethrow_exception(ep);
}

// Keeps what `aw` returns in `out` (which outlives the coroutine).
template <typename T>
asio::awaitable<void> store_into(asio::awaitable<T> aw, std::optional<T>& out) {
  out.emplace(co_await std::move(aw));
}

// Runs `aw` on `ctx` to completion (nothing else runs there during setup).
template <typename T>
T run(asio::io_context& ctx, asio::awaitable<T> aw) {
  std::optional<T> out;
  asio::co_spawn(ctx, store_into(std::move(aw), out), rethrow);
  ctx.restart();
  ctx.run();
  return std::move(*out);
}

// What a hub needs, built as tests/unit/hub_test.cpp builds it: a real SQLite
// store (read only while a hub first syncs a channel), a local broker and one
// channel. Built once for every run of the benchmark; the store's directory is
// removed at exit.
struct world {
  world()
      : dir(std::filesystem::temp_directory_path() /
            ("sl-microbench-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))),
        db(storage::sqlite::open({(dir / "bench.db").string(), 1})),
        hasher(security::hash_cost::fast, 1),
        tokens(std::string(32, 'k')),
        auth(*db, hasher, tokens, clk, {}),
        limiter({false, 100, 1200}),
        messages(*db, clk, limiter, sink),
        interests(broker),
        sv{*db, auth, messages, broker, clk, settings, interests} {
    owner = run(ctx, db->create_user(domain::new_user{user_id::generate(), "alice", "alice@example.com", "x",
                                                      std::nullopt, clk.now()}))
                .value();
    channel = run(ctx, db->create_channel(domain::new_channel{channel_id::generate(), "general", std::nullopt, false,
                                                              owner.id, member_id::generate(), clk.now()}))
                  .value();
  }
  ~world() {
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  world(const world&) = delete;
  world& operator=(const world&) = delete;

  static world& get() {
    static world w;
    return w;
  }

  std::filesystem::path dir;
  asio::io_context ctx;
  system_clock clk;
  std::unique_ptr<domain::store> db;
  security::argon2_hasher hasher;
  security::jwt_codec tokens;
  domain::auth_service auth;
  domain::rate_limiter limiter;
  domain::null_realtime_sink sink;
  domain::message_service messages;
  broker::local_broker broker;
  ws::interest interests;
  ws::gateway_settings settings;
  ws::services sv;
  domain::user owner;
  domain::channel channel;
};

// One message_created event per iteration, in seq order, to N subscribers:
// the hub's ordering check, then one give()/send() per subscriber.
void hub_fanout(benchmark::State& state) {
  auto& w = world::get();
  const auto n = static_cast<std::size_t>(state.range(0));
  ws::hub hub(w.ctx.get_executor(), w.sv);

  std::vector<std::shared_ptr<counting_subscriber>> subs;
  subs.reserve(n);
  const auto through = hub.delivered_through(w.channel.id, w.channel.last_seq);
  for (std::size_t i = 0; i < n; ++i) {
    const auto u = user_id::generate();
    auto s = std::make_shared<counting_subscriber>(domain::principal{u, "user" + std::to_string(i), "jti", {}});
    hub.attach(s);
    // The caller of add() holds one interest per subscription.
    asio::co_spawn(w.ctx, w.interests.acquire(w.channel.id), rethrow);
    hub.add(s, w.channel.id, through, false, false, true);
    subs.push_back(std::move(s));
  }
  w.ctx.restart();
  w.ctx.run();  // the interests, then the channel's first sync (nothing in the store after `through`)

  domain::broker_event e;
  e.kind = domain::broker_event_kind::message_created;
  e.channel = w.channel.id;
  e.actor = w.owner.id;
  e.frame = bench::sample_receive_frame(w.channel.id, w.owner.id, through + 1);
  std::int64_t seq = through;
  const auto allocs = bench::allocations();
  for (auto _ : state) {
    e.seq = ++seq;
    hub.on_event(e);
    benchmark::ClobberMemory();
  }
  bench::report_allocations(state, allocs, state.iterations() * state.range(0));

  const auto delivered = seq - through;
  for (const auto& s : subs) {
    if (s->frames != delivered || s->closes != 0) {
      state.SkipWithError("a subscriber missed a message");
      break;
    }
  }
  benchmark::DoNotOptimize(subs.front()->last);
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["subscribers"] = static_cast<double>(n);
  for (const auto& s : subs) hub.detach(*s);
}
BENCHMARK(hub_fanout)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
