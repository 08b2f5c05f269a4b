// Outbound queue: N queued frames gathered by corked_stream and handed to the kernel in one write, over loopback.

#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include "alloc_counter.hpp"
#include "base/task.hpp"
#include "sample.hpp"
#include "transport/ws/corked_stream.hpp"

namespace {

using namespace sl;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

void rethrow(const std::exception_ptr& ep) {
  if (ep) std::rethrow_exception(ep);
}

// Two connected loopback sockets on `ctx`: `server` is written by the
// benchmark, `client` is the peer.
struct socket_pair {
  explicit socket_pair(asio::io_context& ctx) : server(ctx), client(ctx) {
    tcp::acceptor acceptor(ctx, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  tcp::socket server;
  tcp::socket client;
};

// A gateway context always holds timers due within minutes (each connection's
// idle timeout); this one stands in for them. Without it corked_stream's
// never-expiring wake-up timer would be the earliest timer, and arming it
// would cost a timerfd_settime per batch that the server does not pay. It
// also keeps the context busy, so it is driven with run_until().
struct idle_timers {
  explicit idle_timers(asio::io_context& ctx) : timer(ctx, std::chrono::minutes(5)) {
    timer.async_wait([](beast::error_code) {});
  }
  asio::steady_timer timer;
};

// Runs `ctx` until `done` is set by a handler.
void run_until(asio::io_context& ctx, const bool& done) {
  while (!done) ctx.run_one();
}

// The peer: a thread that reads and discards everything until EOF, so that
// the writer never waits for a full socket buffer longer than the kernel
// needs to move the bytes. join() returns how many bytes it read.
class drain {
 public:
  explicit drain(tcp::socket& s) : fd_(s.native_handle()), thread_([this, &s] { run(s); }) {}
  // Unjoined (the writer failed): ends the read itself.
  ~drain() {
    if (!thread_.joinable()) return;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
  }
  drain(const drain&) = delete;
  drain& operator=(const drain&) = delete;

  std::uint64_t join() {
    thread_.join();
    return bytes_.load();
  }

 private:
  void run(tcp::socket& s) {
    std::vector<char> buf(std::size_t{256} * 1024);
    for (;;) {
      boost::system::error_code ec;
      const auto n = s.read_some(asio::buffer(buf), ec);
      if (ec) return;
      bytes_ += n;
    }
  }

  int fd_;
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

// N different message.receive frames, as a socket's queue holds them.
std::vector<ws::frame_ptr> sample_frames(std::size_t n) {
  const auto c = channel_id::generate();
  const auto author = user_id::generate();
  std::vector<ws::frame_ptr> frames;
  frames.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    frames.push_back(bench::sample_receive_frame(c, author, 1000 + static_cast<std::int64_t>(i)));
  return frames;
}

std::int64_t total_size(const std::vector<ws::frame_ptr>& frames) {
  std::int64_t n = 0;
  for (const auto& f : frames) n += static_cast<std::int64_t>(f->size());
  return n;
}

// A server text frame's header for a payload of n bytes (unmasked, RFC 6455 5.2).
std::int64_t ws_header_size(std::size_t n) { return n < 126 ? 2 : n < 65536 ? 4 : 10; }

void report(benchmark::State& state, const std::vector<ws::frame_ptr>& frames) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(frames.size()));
  state.SetBytesProcessed(state.iterations() * total_size(frames));
  state.counters["frame_bytes"] = static_cast<double>(frames.front()->size());
}

// corked_stream alone: N raw appends while corked (each completes at once),
// then uncork() and one write of them all; the iteration ends when the kernel
// has taken every byte (flushed()).
void corked_append_flush(benchmark::State& state) {
  const auto frames = sample_frames(static_cast<std::size_t>(state.range(0)));
  asio::io_context ctx;
  idle_timers timers(ctx);
  socket_pair sockets(ctx);
  drain peer(sockets.client);
  std::int64_t written = 0;
  {
    ws::corked_stream stream(std::move(sockets.server));
    std::size_t completed = 0;
    beast::error_code failure;
    const auto allocs = bench::allocations();
    for (auto _ : state) {
      stream.cork();
      for (const auto& f : frames)
        stream.async_write_some(asio::buffer(*f), [&](beast::error_code ec, std::size_t) {
          ++completed;
          if (ec) failure = ec;
        });
      stream.uncork();
      bool flushed = false;
      stream.flushed([&](beast::error_code ec) {
        flushed = true;
        if (ec) failure = ec;
      });
      run_until(ctx, flushed);
      if (failure) {
        state.SkipWithError(("write failed: " + failure.message()).c_str());
        break;
      }
      written += total_size(frames);
    }
    bench::report_allocations(state, allocs, state.iterations() * state.range(0));
    benchmark::DoNotOptimize(completed);
    beast::error_code ignored;
    stream.next_layer().shutdown(tcp::socket::shutdown_send, ignored);
  }
  if (peer.join() != static_cast<std::uint64_t>(written)) state.SkipWithError("the peer did not get every byte");
  report(state, frames);
}
BENCHMARK(corked_append_flush)->RangeMultiplier(8)->Range(1, 512)->UseRealTime();

enum class writer { async_each, sync_corked };

// One batch of session::write_loop (src/transport/ws/session.cpp) per
// iteration: the hub's send()s queue N frames, then the writer hands each to
// Beast, framing it into the cork buffer when `Stream` is a corked_stream,
// and, corked, ends with one flush. `async_each` awaits Beast's async_write
// per frame (one trip through the event loop each, the first design);
// `sync_corked` writes them synchronously into the cork (what the session
// does now).
template <typename Stream, writer How>
task<void> write_batches(benchmark::State& state, websocket::stream<Stream>& stream,
                         const std::vector<ws::frame_ptr>& frames, std::int64_t& written) {
  constexpr bool corked = std::is_same_v<Stream, ws::corked_stream>;
  std::deque<ws::frame_ptr> queue;
  const auto allocs = bench::allocations();
  for (auto _ : state) {
    for (const auto& f : frames) queue.push_back(f);
    if constexpr (corked) stream.next_layer().cork();
    beast::error_code ec;
    while (!queue.empty() && !ec) {
      auto f = std::move(queue.front());
      queue.pop_front();
      if constexpr (How == writer::sync_corked)
        stream.write(asio::buffer(*f), ec);
      else
        std::tie(ec, std::ignore) = co_await stream.async_write(asio::buffer(*f), use_tuple);
      written += static_cast<std::int64_t>(f->size()) + ws_header_size(f->size());
    }
    if constexpr (corked) {
      stream.next_layer().uncork();
      if (!ec) std::tie(ec) = co_await stream.next_layer().flushed(use_tuple);
    }
    if (ec) {
      state.SkipWithError(("write failed: " + ec.message()).c_str());
      co_return;
    }
  }
  bench::report_allocations(state, allocs, state.iterations() * state.range(0));
}

// A WebSocket connection over loopback (server side over `Stream`, as the
// gateway accepts it), timed while write_batches() sends on it.
template <typename Stream, writer How>
void ws_write(benchmark::State& state) {
  const auto frames = sample_frames(static_cast<std::size_t>(state.range(0)));
  asio::io_context ctx;
  idle_timers timers(ctx);
  socket_pair sockets(ctx);
  websocket::stream<tcp::socket> client(std::move(sockets.client));
  std::int64_t written = 0;
  std::uint64_t drained = 0;
  {
    websocket::stream<Stream> server(std::move(sockets.server));
    server.auto_fragment(false);
    server.text(true);
    beast::error_code accept_ec, handshake_ec;
    bool accepted = false, handshaken = false;
    server.async_accept([&](beast::error_code ec) {
      accept_ec = ec;
      accepted = true;
    });
    client.async_handshake("127.0.0.1", "/", [&](beast::error_code ec) {
      handshake_ec = ec;
      handshaken = true;
    });
    run_until(ctx, accepted);
    run_until(ctx, handshaken);
    if (accept_ec || handshake_ec) {
      state.SkipWithError("the WebSocket handshake failed");
      return;
    }
    drain peer(client.next_layer());
    bool done = false;
    asio::co_spawn(ctx, write_batches<Stream, How>(state, server, frames, written),
                   [&done](const std::exception_ptr& ep) {
                     done = true;
                     rethrow(ep);
                   });
    run_until(ctx, done);
    beast::error_code ignored;
    beast::get_lowest_layer(server).shutdown(tcp::socket::shutdown_send, ignored);
    drained = peer.join();
  }
  if (drained != static_cast<std::uint64_t>(written)) state.SkipWithError("the peer did not get every byte");
  report(state, frames);
}
void ws_write_corked(benchmark::State& state) { ws_write<ws::corked_stream, writer::sync_corked>(state); }
void ws_write_corked_async_each(benchmark::State& state) { ws_write<ws::corked_stream, writer::async_each>(state); }
void ws_write_uncorked(benchmark::State& state) { ws_write<tcp::socket, writer::async_each>(state); }
// What the gateway does, the first design, and the baseline without the cork (one send() per frame).
BENCHMARK(ws_write_corked)->RangeMultiplier(8)->Range(1, 512)->UseRealTime();
BENCHMARK(ws_write_corked_async_each)->RangeMultiplier(8)->Range(1, 512)->UseRealTime();
BENCHMARK(ws_write_uncorked)->RangeMultiplier(8)->Range(1, 512)->UseRealTime();

}  // namespace
