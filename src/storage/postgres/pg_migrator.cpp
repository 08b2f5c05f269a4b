#include "storage/postgres/pg_migrator.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include "base/log.hpp"

namespace sl::storage::postgres {

namespace migrations {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

namespace {

// An arbitrary key shared by every Signalink process migrating this database.
constexpr const char* lock_sql = "SELECT pg_advisory_lock(7305931786405712601)";
constexpr const char* unlock_sql = "SELECT pg_advisory_unlock(7305931786405712601)";
constexpr const char* table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "  version text PRIMARY KEY,"
    "  applied_at timestamptz NOT NULL DEFAULT now())";

std::vector<std::pair<std::string, std::string_view>> sorted_files() {
  std::vector<std::pair<std::string, std::string_view>> out;
  for (const auto& [name, contents] : migrations::embedded_files()) {
    out.emplace_back(std::string(name), contents);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

task<std::vector<std::string>> pg_migrator::run(pg_connection& conn) {
  co_await conn.exec_script(lock_sql, timeout_);
  co_await conn.exec_script(table_sql, timeout_);
  auto done = co_await conn.exec(pg_statement("SELECT version FROM schema_migrations"), timeout_);
  done.expect_ok("postgres: reading schema_migrations");
  std::set<std::string, std::less<>> applied;
  for (int i = 0; i < done.rows(); ++i) applied.emplace(done.text(i, 0));

  std::vector<std::string> now_applied;
  for (const auto& [version, contents] : sorted_files()) {
    if (applied.contains(version)) continue;
    co_await conn.exec_script("BEGIN", timeout_);
    co_await conn.exec_script(std::string(contents), timeout_);
    auto record =
        co_await conn.exec(pg_statement("INSERT INTO schema_migrations (version) VALUES ($1)").text(version), timeout_);
    record.expect_ok("postgres: recording migration " + version);
    co_await conn.exec_script("COMMIT", timeout_);
    log::info("applied migration", {{"backend", "postgres"}, {"version", version}});
    now_applied.push_back(version);
  }
  co_await conn.exec_script(unlock_sql, timeout_);
  co_return now_applied;
}

}  // namespace sl::storage::postgres
