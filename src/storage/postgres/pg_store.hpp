#pragma once
// The PostgreSQL implementation of the storage port (domain/store.hpp).
//
// open() connects a pool on the given executor, applies the embedded
// migrations (migrations/postgres) and returns the store. Every store call
// may come from any thread's coroutine and resumes on the caller's executor;
// none blocks an I/O thread. Each write is one transaction holding its outbox
// row(s); new messages are group-committed (see message_writer.hpp).
// Infrastructure failures (unreachable database, timeouts) throw pg_error
// (a std::runtime_error); expected conflicts come back as result errors.
// Lifetime: destroy the store after its last call returned, and before the
// executor's execution context.
//
// URLs: postgresql://user:pass@host:port/db or postgres://..., as libpq reads
// them (query parameters such as sslmode included).

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "base/task.hpp"
#include "domain/store.hpp"

namespace sl::storage::postgres {

struct options {
  std::string url;
  unsigned pool_size = 8;
  std::chrono::milliseconds connect_timeout{5000};
  // Deadline of each round trip, and of waiting for a pooled connection.
  std::chrono::milliseconds query_timeout{10000};
  // Most messages one group commit writes.
  std::size_t max_batch = 256;
  // Group-commit transactions in flight at once (each on its own connection).
  // 1: batches share the busy channels' rows and so would mostly wait for each
  // other (message_writer.hpp); raise it only for writes spread over many channels.
  std::size_t parallel_batches = 1;
};

// Connects the pool on `ex`, applies the embedded migrations, returns the store. Throws on failure.
sl::task<std::unique_ptr<sl::domain::store>> open(boost::asio::any_io_executor ex, options o);
// Applies migrations only (for `signalink migrate`).
sl::task<void> migrate(boost::asio::any_io_executor ex, std::string url);

}  // namespace sl::storage::postgres
