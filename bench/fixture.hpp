#pragma once
// Prepares what a scenario needs through the public REST API: users (with
// their tokens) and public channels, several requests in flight at once.
// Every failure throws with the server's answer.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "http_client.hpp"

namespace sl::bench {

struct bench_user {
  std::string id;
  std::string token;
};

class fixture {
 public:
  fixture(endpoint api, int concurrency = 16) : api_(std::move(api)), concurrency_(concurrency) {}

  // Registers and logs in `n` fresh users (names made unique per run).
  task<std::vector<bench_user>> users(int n);
  // Creates `n` public channels; channel i belongs to owners[i % owners.size()].
  task<std::vector<std::string>> channels(const std::vector<bench_user>& owners, int n);
  // Makes users[i] a member of channels[i] for every i.
  task<void> join(const std::vector<const bench_user*>& users, const std::vector<std::string>& channels);

 private:
  // Runs fn(0..n-1) with at most `concurrency_` in flight, each on its own HTTP connection.
  task<void> parallel(std::size_t n, std::function<task<void>(http_client&, std::size_t)> fn);

  endpoint api_;
  int concurrency_;
  std::string tag_;
  std::size_t next_user_ = 0;  // names stay unique across calls
};

}  // namespace sl::bench
