#pragma once
// One WebSocket connection of the gateway: the upgrade, a read loop handling
// the client's requests in order, and one writer draining a bounded queue of
// shared frames, gathering what is queued into one write.
//
// Threads: everything runs on the connection's context, the one of its hub.
// Lifetime: shared; the hub holds it while attached, the coroutines while they
// run. Closing: close() sends the code after what is queued (4008 drops the
// queue first) and drops the connection if the peer has not completed the
// close handshake within close_timeout.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "base/task.hpp"
#include "domain/model.hpp"
#include "transport/http/server.hpp"
#include "transport/ws/codec.hpp"
#include "transport/ws/services.hpp"
#include "transport/ws/subscriber.hpp"

namespace sl::ws {

class hub;

class session final : public subscriber, public std::enable_shared_from_this<session> {
 public:
  session(services& sv, hub& h, boost::beast::tcp_stream stream, domain::principal who);
  ~session() override;
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Completes the upgrade of `req` and serves the socket until it closes.
  task<void> run(http::beast_request req);
  // Answers an upgrade request with an HTTP error `{"detail":...}` instead.
  static task<void> refuse(boost::beast::tcp_stream stream, http::beast_request req, int status, std::string detail);

  const domain::principal& who() const noexcept override { return who_; }
  // Queues a frame; over send_queue_bytes the socket is closed with 4008.
  void send(const frame_ptr& f) override;
  void removed(const channel_id& c, const frame_ptr& f) override;
  void close(std::uint16_t code, std::string reason) override;
  void idle_check(std::chrono::steady_clock::time_point now) override;

 private:
  struct impl;

  // Writes what send() queued (while a write was in flight or frames were
  // waiting) and the close frame; runs only while there is such work.
  static task<void> write_loop(std::shared_ptr<session> self);
  void start_writer();
  task<void> handle(std::string text);
  task<void> dispatch(client_request r);
  task<void> subscribe(client_request r);
  task<void> unsubscribe(const channel_id& c);
  struct pending_send;
  task<void> send_message(client_request r, std::shared_ptr<pending_send> slot);
  task<void> sends_settled();  // waits until one message.send completes
  task<void> typing(const channel_id& c, bool on);
  task<void> replay(channel_id c, std::int64_t after, std::int64_t through);
  task<void> initial_presence(channel_id c);
  // The subscription's replay decision for a client last at `since` while
  // the hub is at `through`: replay, or recovered:false.
  task<bool> can_replay(const channel_id& c, std::int64_t since, std::int64_t through);
  task<void> writable();  // waits until the queue is under half its limit
  void error(const frame_error& e);
  bool closed() const noexcept;

  services& sv_;
  hub& hub_;
  domain::principal who_;
  std::unique_ptr<impl> impl_;
};

}  // namespace sl::ws
