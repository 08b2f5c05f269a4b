#include "domain/login_throttle.hpp"

namespace sl::domain {

int login_throttle::count(history& h, timestamp now) const {
  while (!h.empty() && h.front() + s_.window <= now) h.pop_front();
  return static_cast<int>(h.size());
}

bool login_throttle::blocked(const std::string& username, const std::string& address, timestamp now) {
  std::lock_guard lock(mu_);
  if (auto it = by_user_.find(username); it != by_user_.end() && count(it->second, now) >= s_.max_failures_per_username)
    return true;
  if (auto it = by_addr_.find(address); it != by_addr_.end() && count(it->second, now) >= s_.max_failures_per_address)
    return true;
  return false;
}

void login_throttle::failed(const std::string& username, const std::string& address, timestamp now) {
  std::lock_guard lock(mu_);
  // Bound memory under a spray of distinct names: forget idle entries now and then.
  auto idle = [&](const auto& kv) { return kv.second.empty() || kv.second.back() + s_.window <= now; };
  if (by_user_.size() > 100000) std::erase_if(by_user_, idle);
  if (by_addr_.size() > 100000) std::erase_if(by_addr_, idle);
  by_user_[username].push_back(now);
  by_addr_[address].push_back(now);
}

void login_throttle::succeeded(const std::string& username) {
  std::lock_guard lock(mu_);
  by_user_.erase(username);
}

}  // namespace sl::domain
