#pragma once
// pg_pool: a fixed number of pg_connections to one database, handed out one
// coroutine at a time.
//
// Threading: every member may be called from any thread; the pool's own
// state lives on a private strand. A lease, and the connection in it, belong
// to the coroutine that checked it out.
// Connections are opened lazily up to `size` and replaced when they break: a
// lease whose connection is broken, or was left inside a transaction, closes
// it on release and frees its slot for a fresh connect.
// Failure: checkout() throws pg_error when no connection can be had before
// the deadline, or when connecting fails (the database is unreachable).
// Lifetime: created with create(); leases keep the pool alive, so it may be
// dropped while leases are out. Idle connections close with the pool.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace sl::storage::postgres {

struct pool_options {
  std::string url;
  unsigned size = 8;
  std::chrono::milliseconds connect_timeout{5000};
};

class pg_pool : public std::enable_shared_from_this<pg_pool> {
 public:
  // Exclusive use of one connection; gives it back when destroyed.
  class lease {
   public:
    lease() = default;
    lease(lease&&) noexcept = default;
    lease& operator=(lease&&) noexcept;
    ~lease();
    pg_connection& operator*() const noexcept { return *conn_; }
    pg_connection* operator->() const noexcept { return conn_.get(); }

   private:
    friend class pg_pool;
    lease(std::shared_ptr<pg_pool> pool, std::unique_ptr<pg_connection> conn)
        : pool_(std::move(pool)), conn_(std::move(conn)) {}
    void release() noexcept;

    std::shared_ptr<pg_pool> pool_;
    std::unique_ptr<pg_connection> conn_;
  };

  static std::shared_ptr<pg_pool> create(const boost::asio::any_io_executor& ex, pool_options o);
  ~pg_pool();
  pg_pool(const pg_pool&) = delete;
  pg_pool& operator=(const pg_pool&) = delete;

  // Awaits a free connection (opening one when a slot is free), for at most `timeout`.
  task<lease> checkout(std::chrono::steady_clock::duration timeout);
  // Opens every connection now, so that start-up fails fast on a bad URL.
  task<void> fill();

  unsigned size() const noexcept { return size_; }
  const boost::asio::any_io_executor& executor() const noexcept { return ex_; }

 private:
  struct waiter {
    boost::asio::steady_timer timer;
    std::unique_ptr<pg_connection> conn;
    bool woken = false;
  };

  pg_pool(const boost::asio::any_io_executor& ex, pool_options o);
  static task<std::unique_ptr<pg_connection>> checkout_on_strand(std::shared_ptr<pg_pool> self,
                                                                 std::chrono::steady_clock::time_point deadline);
  void give_back(std::unique_ptr<pg_connection> conn);  // on the strand
  void wake_one(std::unique_ptr<pg_connection> conn);   // on the strand

  boost::asio::any_io_executor ex_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;
  std::string url_;
  unsigned size_;
  std::chrono::milliseconds connect_timeout_;
  // Strand state.
  std::vector<std::unique_ptr<pg_connection>> idle_;
  std::deque<waiter*> waiters_;
  unsigned live_ = 0;  // connections open or being opened
};

}  // namespace sl::storage::postgres
