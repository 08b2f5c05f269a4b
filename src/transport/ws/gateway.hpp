#pragma once
// The gateway role (contract.md section 3): takes over WebSocket upgrades of
// `/ws` from the HTTP server, authenticates them, and runs one hub per I/O
// context; broker events are posted to every hub (a notification reaches
// its recipient's sockets on whichever contexts they live). Also keeps this node's
// connection counts for /stats and the per-user socket limit, and announces
// presence through the broker when a user's first socket opens or last closes.
//
// Threads: upgrade() runs on the connection's context; the rest is
// thread-safe. Lifetime: outlives every session; stop() before destruction.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "net/io_pool.hpp"
#include "transport/http/server.hpp"
#include "transport/ws/hub.hpp"
#include "transport/ws/interest.hpp"
#include "transport/ws/services.hpp"
#include "transport/ws/settings.hpp"

namespace sl::ws {

struct gateway_stats {
  std::size_t connections = 0;
  std::vector<user_id> users;
  std::size_t channels = 0;
};

class gateway final : public http::upgrade_handler {
 public:
  gateway(net::io_pool& io, domain::store& db, domain::auth_service& auth, domain::message_service& messages,
          domain::broker& broker, const clock& clk, gateway_settings s);
  ~gateway() override;

  // Installs the broker handlers; call once, before the server starts.
  void start();
  // Closes every socket with 1012 and waits (at most `grace`) for them to go.
  task<void> stop(std::chrono::milliseconds grace);

  task<void> upgrade(boost::beast::tcp_stream stream, http::beast_request req, http::request parsed) override;

  // Closes (4001) the sockets of revoked sessions and expired tokens; the app
  // calls it after every revocation refresh.
  void check_sessions();

  // Told of every presence change this node announces (a user's first socket
  // anywhere opened, or last one closed): the event log records them. Set
  // before start().
  void on_presence(std::function<void(const user_id&, domain::presence_status)> f) { presence_hook_ = std::move(f); }

  gateway_stats stats() const;
  // Open sockets on this node (cheaper than stats()).
  std::size_t connections() const;
  domain::broker& broker() noexcept { return sv_.broker; }
  const gateway_settings& settings() const noexcept { return settings_; }

 private:
  task<result<domain::principal>> authenticate(const http::request& parsed);
  void announce(const user_id& u, domain::presence_status s);
  // After a session ended: the per-user count and presence.
  task<void> closed(user_id u);
  template <typename Fn>
  void on_every_hub(Fn fn);

  net::io_pool& io_;
  gateway_settings settings_;
  interest interests_;
  services sv_;
  std::vector<std::unique_ptr<hub>> hubs_;
  mutable std::mutex mu_;
  std::unordered_map<user_id, int, uuid_hash> sockets_;  // per user, this node
  std::size_t connections_ = 0;
  std::function<void(const user_id&, domain::presence_status)> presence_hook_;
};

}  // namespace sl::ws
