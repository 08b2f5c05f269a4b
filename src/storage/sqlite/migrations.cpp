#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "base/log.hpp"
#include "storage/sqlite/connection.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace sl::storage::sqlite {

namespace embedded_migrations {
const std::vector<std::pair<std::string_view, std::string_view>>& embedded_files();
}

int migrate(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  connection c(path);
  c.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL "
      "DEFAULT (CAST(strftime('%s','now') AS INTEGER) * 1000000))");
  auto files = embedded_migrations::embedded_files();
  std::sort(files.begin(), files.end());
  int applied = 0;
  for (const auto& [name, sql] : files) {
    c.exec("BEGIN IMMEDIATE");
    try {
      auto st = c.prepare("SELECT 1 FROM schema_migrations WHERE version = ?");
      st.bind(1, name);
      const bool done = st.step();
      if (!done) {
        c.exec(std::string(sql));
        auto ins = c.prepare("INSERT INTO schema_migrations (version) VALUES (?)");
        ins.bind(1, name);
        ins.exec();
        ++applied;
        log::info("applied migration", {{"version", std::string(name)}, {"backend", "sqlite"}});
      }
      c.exec("COMMIT");
    } catch (...) {
      c.exec("ROLLBACK");
      throw;
    }
  }
  return applied;
}

}  // namespace sl::storage::sqlite
