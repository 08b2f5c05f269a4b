#include "broker/local/local_broker.hpp"

#include "broker/metrics.hpp"

namespace sl::broker {

void local_broker::start(domain::broker_handlers h) {
  handlers_ = std::move(h);
  metrics::register_metrics();
  std::lock_guard lock(mu_);
  if (!counted_) metrics::connected_add(1);
  counted_ = true;
}

task<void> local_broker::stop() {
  std::lock_guard lock(mu_);
  if (counted_) metrics::connected_add(-1);
  counted_ = false;
  stopped_ = true;
  co_return;
}

task<bool> local_broker::check() { co_return true; }

// One node hears everything it publishes, so interest needs no bookkeeping.
task<void> local_broker::subscribe(channel_id) { co_return; }
void local_broker::unsubscribe(channel_id) {}

void local_broker::publish(domain::broker_event e) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
  }
  metrics::count_published();
  if (!handlers_.on_event) return;
  handlers_.on_event(e);
  metrics::count_received();
}

task<bool> local_broker::socket_opened(user_id u) {
  std::lock_guard lock(mu_);
  co_return ++sockets_[u] == 1;
}

task<bool> local_broker::socket_closed(user_id u) {
  std::lock_guard lock(mu_);
  auto it = sockets_.find(u);
  if (it == sockets_.end()) co_return false;
  if (--it->second > 0) co_return false;
  sockets_.erase(it);
  co_return true;
}

task<std::vector<user_id>> local_broker::online_among(std::vector<user_id> users) {
  std::lock_guard lock(mu_);
  std::erase_if(users, [&](const user_id& u) { return !sockets_.contains(u); });
  co_return users;
}

void local_broker::viewer_added(channel_id c, user_id u) {
  std::lock_guard lock(mu_);
  ++viewers_[c][u];
}

void local_broker::viewer_removed(channel_id c, user_id u) {
  std::lock_guard lock(mu_);
  auto ch = viewers_.find(c);
  if (ch == viewers_.end()) return;
  auto it = ch->second.find(u);
  if (it == ch->second.end()) return;
  if (--it->second <= 0) ch->second.erase(it);
  if (ch->second.empty()) viewers_.erase(ch);
}

task<std::vector<user_id>> local_broker::viewing_among(channel_id c, std::vector<user_id> users) {
  std::lock_guard lock(mu_);
  auto ch = viewers_.find(c);
  if (ch == viewers_.end()) {
    users.clear();
    co_return users;
  }
  std::erase_if(users, [&](const user_id& u) { return !ch->second.contains(u); });
  co_return users;
}

task<bool> local_broker::claim_once(std::string key, std::chrono::milliseconds ttl) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  std::erase_if(claims_, [&](const auto& kv) { return kv.second <= now; });
  co_return claims_.emplace(std::move(key), now + ttl).second;
}

}  // namespace sl::broker
