#pragma once
// The generator's I/O threads: N io_contexts, each run by its own thread, so
// the main thread can drive a scenario's phases and wait on them. Socket i
// lives on context i % size() for its whole life: its state needs no lock.
//
// Lifetime: the threads run from construction to destruction.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/task.hpp"

namespace sl::bench {

class loops {
 public:
  explicit loops(unsigned n);
  ~loops();
  loops(const loops&) = delete;
  loops& operator=(const loops&) = delete;

  std::size_t size() const noexcept { return contexts_.size(); }
  boost::asio::io_context& at(std::size_t i) noexcept { return *contexts_[i % contexts_.size()]; }

  // Runs fn(i) for every i < n on context i % size(), at most `concurrency`
  // at a time; blocks until all are done and rethrows the first failure.
  void for_each(std::size_t n, int concurrency, const std::function<task<void>(std::size_t)>& fn);
  // Starts fn(i) for every i < n on context i % size() without waiting; the
  // returned futures complete when each ends.
  std::vector<std::future<void>> spawn_each(std::size_t n, const std::function<task<void>(std::size_t)>& fn);
  // Runs fn(i) for every i < n on context i % size(), one task per context,
  // and waits: a quick synchronous step applied to every socket.
  void apply(std::size_t n, const std::function<void(std::size_t)>& fn);
  // Runs `f` on context i and waits for it.
  void on(std::size_t i, std::function<void()> f);

 private:
  using guard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<guard> guards_;
  std::vector<std::thread> threads_;
};

}  // namespace sl::bench
