#pragma once
// Counts failed logins per username and per client address in a sliding
// window; once either passes its limit, logins for it are refused (429) until
// the window moves on. In process (one node); thread-safe.

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "base/time.hpp"

namespace sl::domain {

struct throttle_settings {
  int max_failures_per_username = 5;
  int max_failures_per_address = 20;
  std::chrono::seconds window{300};
};

class login_throttle {
 public:
  explicit login_throttle(throttle_settings s) : s_(s) {}

  bool blocked(const std::string& username, const std::string& address, timestamp now);
  void failed(const std::string& username, const std::string& address, timestamp now);
  void succeeded(const std::string& username);

 private:
  using history = std::deque<timestamp>;
  int count(history& h, timestamp now) const;

  throttle_settings s_;
  std::mutex mu_;
  std::unordered_map<std::string, history> by_user_;
  std::unordered_map<std::string, history> by_addr_;
};

}  // namespace sl::domain
