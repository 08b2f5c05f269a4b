#pragma once
// pg_connection: one libpq connection driven without blocking on an Asio
// executor. libpq runs in non-blocking mode on its own socket; the coroutine
// waits for readiness with a stream_descriptor that never owns libpq's fd.
//
// Threading: a connection is used by one coroutine at a time (the pool hands
// it out exclusively); it may move between threads between operations.
// Every operation has a deadline. Failure: connect() and the exec calls throw
// pg_error on I/O errors, timeouts and protocol errors, and then the
// connection is broken() for good (the pool replaces it). SQL errors of a
// statement are not thrown by exec(): they come back in that statement's
// result, so that a caller can tell a unique violation from an outage.
// Lifetime: destroy only when no operation is in progress.
//
// Name resolution: a host name (rather than an address) in the URL is resolved
// by libpq inside connect(), synchronously; use addresses where that matters.

#include <libpq-fe.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "base/task.hpp"
#include "storage/postgres/pg_result.hpp"
#include "storage/postgres/pg_statement.hpp"

namespace sl::storage::postgres {

class pg_connection {
 public:
  using clock = std::chrono::steady_clock;

  // Opens a connection to `url` (a postgresql:// or postgres:// URL, or a
  // libpq keyword string). The session uses UTC and ISO dates.
  static task<std::unique_ptr<pg_connection>> connect(boost::asio::any_io_executor ex, std::string url,
                                                      std::chrono::milliseconds timeout);

  ~pg_connection();
  pg_connection(const pg_connection&) = delete;
  pg_connection& operator=(const pg_connection&) = delete;

  // Sends every statement in one pipeline followed by one sync, in a single
  // round trip, and returns one result per statement in order. After the
  // first failing statement the rest come back aborted(). Statements do not
  // share a transaction unless the caller sends BEGIN/COMMIT among them.
  task<std::vector<pg_result>> exec(std::span<const pg_statement> statements, clock::duration timeout);
  // One statement; its result (failed results are returned, not thrown).
  task<pg_result> exec(const pg_statement& statement, clock::duration timeout);
  // A script of ';'-separated statements without parameters (simple query
  // protocol, e.g. a migration file). Throws pg_error on the first failure.
  task<void> exec_script(std::string sql, clock::duration timeout);

  // Lost, timed out, or failed mid-protocol: must be discarded.
  bool broken() const noexcept { return broken_; }
  // Connected and outside any transaction: fit to go back to a pool.
  bool reusable() const noexcept;

 private:
  struct conn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };

  pg_connection(const boost::asio::any_io_executor& ex, PGconn* conn);

  enum class interest { read, write, read_write };
  enum class ready { read, write };
  // Waits for the socket (or the deadline: broken, throws).
  task<ready> wait(interest what, clock::time_point deadline);
  task<void> flush(clock::time_point deadline);
  task<pg_result> next_result(clock::time_point deadline);
  void track_socket();
  [[noreturn]] void fail(const std::string& what);

  std::unique_ptr<PGconn, conn_deleter> conn_;
  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer timer_;
  int fd_ = -1;
  bool broken_ = false;
  std::unordered_set<std::string> prepared_;
};

}  // namespace sl::storage::postgres
