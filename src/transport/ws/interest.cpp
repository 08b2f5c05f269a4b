#include "transport/ws/interest.hpp"

namespace sl::ws {

task<void> interest::acquire(channel_id c) {
  {
    std::lock_guard lock(mu_);
    ++counts_[c];
  }
  co_await broker_.subscribe(c);
}

void interest::release(const channel_id& c) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(c);
  if (it == counts_.end()) return;
  if (--it->second > 0) return;
  counts_.erase(it);
  // Under the lock, so that a concurrent acquire's subscribe is issued after it.
  broker_.unsubscribe(c);
}

std::size_t interest::subscriptions(const channel_id& c) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(c);
  return it == counts_.end() ? 0 : it->second;
}

std::size_t interest::channels() const {
  std::lock_guard lock(mu_);
  return counts_.size();
}

std::vector<channel_id> interest::snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<channel_id> out;
  out.reserve(counts_.size());
  for (const auto& [c, n] : counts_) out.push_back(c);
  return out;
}

}  // namespace sl::ws
