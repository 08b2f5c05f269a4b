#pragma once
// Runs SQLite work off the I/O threads: one writer thread that group-commits
// every queued write into one transaction, and a pool of reader threads with
// their own connections (WAL lets them read while the writer writes).
//
// write(fn): fn(connection&) runs on the writer thread inside a SAVEPOINT of
// the current batch; if it throws, only its savepoint is rolled back and the
// exception reaches its caller. The caller resumes, on its own executor, only
// after the batch's COMMIT. read(fn) runs fn on a reader connection.
// Thread-safe. Destruction waits for queued work to finish.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "base/task.hpp"
#include "base/trace_context.hpp"
#include "net/offload.hpp"
#include "storage/sqlite/connection.hpp"

namespace sl::storage::sqlite {

class executor {
 public:
  executor(std::string path, unsigned readers);
  ~executor();

  template <typename Fn>
  auto write(Fn fn) -> task<std::invoke_result_t<Fn&, connection&>>;

  template <typename Fn>
  auto read(Fn fn) -> task<std::invoke_result_t<Fn&, connection&>>;

 private:
  struct job {
    virtual ~job() = default;
    virtual void run(connection& c) = 0;
    // Called once after the batch committed (or failed as a whole with `ep`).
    virtual void complete(std::exception_ptr ep) = 0;
  };

  template <typename T, typename Fn, typename Handler>
  struct typed_job;

  void submit(std::unique_ptr<job> j);
  void writer_loop();
  void run_batch(std::vector<std::unique_ptr<job>>& batch);

  class reader_lease;
  std::unique_ptr<connection> checkout();
  // `started`: when the lease was taken (the read job's duration is observed).
  void checkin(std::unique_ptr<connection> c, std::chrono::steady_clock::time_point started);

  std::string path_;
  connection writer_conn_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<job>> queue_;
  bool stopping_ = false;
  std::thread writer_;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<connection>> idle_readers_;
  unsigned readers_;
  boost::asio::thread_pool reader_pool_;
};

template <typename T, typename Fn, typename Handler>
struct executor::typed_job final : executor::job {
  using value_type = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;
  typed_job(Fn f, Handler h)
      : fn(std::move(f)),
        handler(std::move(h)),
        work(boost::asio::get_associated_executor(handler)),
        trace{current_trace() != nullptr ? std::optional(*current_trace()) : std::nullopt} {}

  void run(connection& c) override {
    // The writer thread runs the job in its caller's span: the events it
    // builds and the lines it logs belong to the request that asked.
    trace_scope scope(&trace);
    if constexpr (std::is_void_v<T>) {
      fn(c);
      value = true;
    } else {
      value.emplace(fn(c));
    }
  }
  void complete(std::exception_ptr ep) override {
    auto ex = work.get_executor();
    boost::asio::dispatch(
        ex, [h = std::move(handler), ep, v = std::move(value)]() mutable { std::move(h)(ep, std::move(v)); });
  }

  Fn fn;
  Handler handler;
  boost::asio::executor_work_guard<boost::asio::associated_executor_t<Handler>> work;
  value_type value{};
  trace_slot trace;
};

template <typename Fn>
auto executor::write(Fn fn) -> task<std::invoke_result_t<Fn&, connection&>> {
  using T = std::invoke_result_t<Fn&, connection&>;
  using V = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;
  auto init = [this](auto handler, Fn f) {
    using H = decltype(handler);
    submit(std::make_unique<typed_job<T, Fn, H>>(std::move(f), std::move(handler)));
  };
  V v = co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr, V)>(
      std::move(init), boost::asio::use_awaitable, std::move(fn));
  if constexpr (!std::is_void_v<T>) co_return std::move(*v);
}

class executor::reader_lease {
 public:
  reader_lease(executor& e) : e_(e), started_(std::chrono::steady_clock::now()), c_(e.checkout()) {}
  ~reader_lease() { e_.checkin(std::move(c_), started_); }
  connection& get() { return *c_; }

 private:
  executor& e_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<connection> c_;
};

template <typename Fn>
auto executor::read(Fn fn) -> task<std::invoke_result_t<Fn&, connection&>> {
  co_return co_await net::offload(reader_pool_.get_executor(), [this, f = std::move(fn)]() mutable {
    reader_lease lease(*this);
    return f(lease.get());
  });
}

}  // namespace sl::storage::sqlite
