#include "storage/postgres/detail/exec.hpp"

#include "storage/postgres/detail/sql.hpp"

namespace sl::storage::postgres::detail {

task<pg_result> run_one(pg_pool& pool, duration timeout, pg_statement s, const char* what) {
  auto conn = co_await pool.checkout(timeout);
  auto r = co_await conn->exec(s, timeout);
  r.expect_ok(what);
  co_return r;
}

task<std::vector<pg_result>> run_transaction(pg_pool& pool, duration timeout, std::vector<pg_statement> statements,
                                             const char* what) {
  std::vector<pg_statement> batch;
  batch.reserve(statements.size() + 2);
  batch.emplace_back(sql::begin);
  for (auto& s : statements) batch.push_back(std::move(s));
  batch.emplace_back(sql::commit);
  auto conn = co_await pool.checkout(timeout);
  auto results = co_await conn->exec(batch, timeout);
  for (const auto& r : results) r.expect_ok(what);
  results.pop_back();
  results.erase(results.begin());
  co_return results;
}

}  // namespace sl::storage::postgres::detail
