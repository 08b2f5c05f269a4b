#pragma once
// The I/O threads: N io_contexts, each run by exactly one thread. A
// connection is placed on one context (next()) for its whole life, so its
// handlers never run concurrently and per-thread state (the gateway's
// subscription hubs) needs no locks. Context 0 is the primary one: listeners,
// timers and the database pools live there.

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace sl::net {

class io_pool {
 public:
  explicit io_pool(unsigned threads);
  ~io_pool();
  io_pool(const io_pool&) = delete;
  io_pool& operator=(const io_pool&) = delete;

  boost::asio::io_context& context() noexcept { return *contexts_[0]; }
  boost::asio::io_context& context(std::size_t i) noexcept { return *contexts_[i]; }
  std::size_t size() const noexcept { return contexts_.size(); }
  // Round robin over the contexts; thread-safe.
  boost::asio::io_context& next() noexcept;
  // The index of the context whose thread is calling, or size() elsewhere.
  std::size_t current() const noexcept;

  // Runs contexts 1..N-1 on new threads and context 0 on the caller, until
  // stop(); then joins the threads.
  void run();
  void stop();

 private:
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<guard> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace sl::net
