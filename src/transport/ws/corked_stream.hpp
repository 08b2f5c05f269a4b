#pragma once
// A stream layer under beast::websocket::stream that gathers writes, so that
// many queued frames leave in one system call (like uWebSockets' cork).
//
// While corked, every write (ours and Beast's own pings, pongs and close
// frames) is appended to a buffer and completes at once; uncork() starts one
// real write of everything buffered. Uncorked, a write is appended and
// flushed at once, after any write in flight. flushed() waits until nothing
// is buffered or in flight. Reads pass through.
//
// Writes never block, so the stream is also a SyncWriteStream: a writer may
// hand Beast many frames synchronously while corked (no trip through the
// event loop per frame) and then uncork once.
//
// Threads: all calls on the stream's executor (one connection, one context).
// Lifetime: the buffers and the wake-up timer are shared with the write in
// flight, so destroying the stream during a flush is safe (the write fails).

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <string>
#include <utility>

namespace sl::ws {

class corked_stream {
 public:
  using next_layer_type = boost::asio::ip::tcp::socket;
  using executor_type = next_layer_type::executor_type;

  explicit corked_stream(next_layer_type s) : next_(std::move(s)), state_(std::make_shared<state>()) {}
  ~corked_stream() {
    if (state_) state_->gone = true;
  }
  corked_stream(corked_stream&&) = delete;
  corked_stream& operator=(corked_stream&&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }

  void cork() noexcept { state_->corked = true; }
  void uncork() {
    state_->corked = false;
    flush();
  }
  // Bytes appended but not yet handed to the kernel.
  std::size_t buffered() const noexcept { return state_->pending.size() + state_->out.size(); }
  bool idle() const noexcept { return !state_->flushing && state_->pending.empty(); }
  // Completes when idle() or the connection failed (returns the error).
  template <typename Token>
  auto flushed(Token&& token) {
    if (!state_->wake)  // made on first use: most sockets never wait
      state_->wake =
          std::make_unique<boost::asio::steady_timer>(get_executor(), boost::asio::steady_timer::time_point::max());
    return boost::asio::async_initiate<Token, void(boost::beast::error_code)>(
        [st = state_](auto handler) { wait_flushed(st, std::move(handler)); }, token);
  }

  template <typename MutableBuffers, typename Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return next_.async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, boost::beast::error_code& ec) {
    return next_.read_some(buffers, ec);
  }
  template <typename MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    return next_.read_some(buffers);
  }

  // Appends (and, uncorked, starts a flush); fails only once the connection has.
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, boost::beast::error_code& ec) {
    ec = state_->error;
    return ec ? 0 : append(buffers);
  }
  template <typename ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    boost::beast::error_code ec;
    const auto n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  template <typename ConstBuffers, typename Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::beast::error_code, std::size_t)>(
        [this](auto h, const ConstBuffers& b) {
          auto ec = state_->error;
          const std::size_t n = ec ? 0 : append(b);
          boost::asio::post(get_executor(), boost::beast::bind_front_handler(std::move(h), ec, n));
        },
        handler, buffers);
  }

 private:
  struct state {
    std::string pending;  // appended, waiting for the next write
    std::string out;      // in flight
    bool corked = false;
    bool flushing = false;
    bool gone = false;  // the stream was destroyed: never touch it again
    boost::beast::error_code error;
    std::unique_ptr<boost::asio::steady_timer> wake;  // never expires: cancelled when a flush ends
  };

  template <typename ConstBuffers>
  std::size_t append(const ConstBuffers& b) {
    for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it) {
      const boost::asio::const_buffer piece(*it);
      state_->pending.append(static_cast<const char*>(piece.data()), piece.size());
    }
    if (!state_->corked) flush();
    return boost::asio::buffer_size(b);
  }

  void flush() { start_flush(state_, next_); }

  static void start_flush(const std::shared_ptr<state>& st, next_layer_type& next) {
    if (st->flushing || st->pending.empty() || st->error || st->gone) return;
    st->flushing = true;
    std::swap(st->out, st->pending);
    boost::asio::async_write(next, boost::asio::buffer(st->out), [st, &next](boost::beast::error_code ec, std::size_t) {
      st->flushing = false;
      // Nothing more to send: an idle socket keeps no buffer (most sockets
      // are idle most of the time).
      if (st->pending.empty()) {
        std::string().swap(st->out);
        std::string().swap(st->pending);
      } else {
        st->out.clear();
      }
      if (ec)
        st->error = ec;
      else if (!st->corked)
        start_flush(st, next);
      if (!st->flushing && st->wake) st->wake->cancel();
    });
  }

  template <typename Handler>
  static void wait_flushed(std::shared_ptr<state> st, Handler handler) {
    if (st->error || (!st->flushing && st->pending.empty())) {
      auto ec = st->error;
      boost::asio::post(st->wake->get_executor(), boost::beast::bind_front_handler(std::move(handler), ec));
      return;
    }
    auto& timer = *st->wake;
    timer.async_wait([st = std::move(st), handler = std::move(handler)](boost::beast::error_code) mutable {
      wait_flushed(std::move(st), std::move(handler));
    });
  }

  next_layer_type next_;
  std::shared_ptr<state> state_;

  // Beast closes the connection through these (found by argument-dependent lookup).
  friend void teardown(boost::beast::role_type role, corked_stream& s, boost::beast::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, s.next_, ec);
  }
  template <typename Handler>
  friend void async_teardown(boost::beast::role_type role, corked_stream& s, Handler&& handler) {
    // The close frame may still be buffered: let it leave before shutting down.
    s.flushed([&s, role, h = std::forward<Handler>(handler)](boost::beast::error_code) mutable {
      using boost::beast::websocket::async_teardown;
      async_teardown(role, s.next_, std::move(h));
    });
  }
};

}  // namespace sl::ws
