#pragma once
// Running statements on a pooled connection, for the stores that are not on
// the message hot path (analytics, notifications). Each call checks one
// connection out for its round trip; failures throw pg_error.

#include <chrono>
#include <vector>

#include "base/task.hpp"
#include "storage/postgres/pg_pool.hpp"
#include "storage/postgres/pg_result.hpp"
#include "storage/postgres/pg_statement.hpp"

namespace sl::storage::postgres::detail {

using duration = std::chrono::steady_clock::duration;

// One statement (its own implicit transaction); throws unless it succeeded.
task<pg_result> run_one(pg_pool& pool, duration timeout, pg_statement s, const char* what);
// BEGIN, the statements and COMMIT in one round trip; throws unless every
// one succeeded. Returns the statements' results (without BEGIN and COMMIT).
task<std::vector<pg_result>> run_transaction(pg_pool& pool, duration timeout, std::vector<pg_statement> statements,
                                             const char* what);

}  // namespace sl::storage::postgres::detail
