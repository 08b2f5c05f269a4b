#pragma once
// The in-process broker (the embedded default): one node, so publishing is a
// direct call of the handler on the publisher's thread and presence is a map
// of socket counts, and viewers a map of subscription counts per channel and
// user. Always connected. Thread-safe.

#include <mutex>
#include <string>
#include <unordered_map>

#include "domain/broker.hpp"

namespace sl::broker {

class local_broker final : public domain::broker {
 public:
  void start(domain::broker_handlers h) override;
  task<void> stop() override;
  std::string_view name() const noexcept override { return "in_process"; }
  bool connected() const noexcept override { return true; }
  task<bool> check() override;
  task<void> subscribe(channel_id c) override;
  void unsubscribe(channel_id c) override;
  void publish(domain::broker_event e) override;
  task<bool> socket_opened(user_id u) override;
  task<bool> socket_closed(user_id u) override;
  task<std::vector<user_id>> online_among(std::vector<user_id> users) override;
  void viewer_added(channel_id c, user_id u) override;
  void viewer_removed(channel_id c, user_id u) override;
  task<std::vector<user_id>> viewing_among(channel_id c, std::vector<user_id> users) override;
  task<bool> claim_once(std::string key, std::chrono::milliseconds ttl) override;

 private:
  using user_counts = std::unordered_map<user_id, int, uuid_hash>;

  domain::broker_handlers handlers_;
  std::mutex mu_;
  user_counts sockets_;
  std::unordered_map<channel_id, user_counts, uuid_hash> viewers_;                 // subscriptions per channel and user
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> claims_;  // key -> expiry
  bool counted_ = false;  // in signalink_broker_connected, from start() to stop()
  bool stopped_ = false;
};

}  // namespace sl::broker
