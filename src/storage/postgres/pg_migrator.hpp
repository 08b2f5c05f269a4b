#pragma once
// pg_migrator: applies the SQL files embedded from migrations/postgres, in
// file-name order, each in its own transaction together with its row in
// schema_migrations (version = the file name, as the SQLite
// backend records it). Already applied
// versions are skipped, so running it again is a no-op.
//
// Concurrent starters are safe: the run holds a session advisory lock, so a
// second process waits for the first and then finds nothing left to do.
// Migration files must not contain transaction control or statements that
// cannot run in a transaction (CREATE INDEX CONCURRENTLY).
//
// Failure: throws pg_error; the failing file's transaction is rolled back and
// the connection should be discarded.

#include <chrono>
#include <string>
#include <vector>

#include "base/task.hpp"
#include "storage/postgres/pg_connection.hpp"

namespace sl::storage::postgres {

class pg_migrator {
 public:
  // `timeout` bounds each step, waiting for the lock included.
  explicit pg_migrator(std::chrono::steady_clock::duration timeout) : timeout_(timeout) {}

  // Returns the versions applied by this call, in order.
  task<std::vector<std::string>> run(pg_connection& conn);

 private:
  std::chrono::steady_clock::duration timeout_;
};

}  // namespace sl::storage::postgres
