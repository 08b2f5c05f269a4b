#pragma once
// This node's interest in channels: how many subscriptions (over all hubs)
// each channel has, so that the broker is subscribed to a channel's topic
// while at least one local socket is, and unsubscribed after the last leaves.
// Thread-safe.

#include <mutex>
#include <unordered_map>

#include "base/task.hpp"
#include "base/uuid.hpp"
#include "domain/broker.hpp"

namespace sl::ws {

class interest {
 public:
  explicit interest(domain::broker& b) : broker_(b) {}

  // Counts one subscription and completes once the broker delivers the
  // channel's events to this node (broker::subscribe is idempotent, so every
  // caller may wait for it).
  task<void> acquire(channel_id c);
  void release(const channel_id& c);
  std::size_t subscriptions(const channel_id& c) const;
  std::size_t channels() const;
  // Every channel with at least one subscription.
  std::vector<channel_id> snapshot() const;

 private:
  domain::broker& broker_;
  mutable std::mutex mu_;
  std::unordered_map<channel_id, std::size_t, uuid_hash> counts_;
};

}  // namespace sl::ws
