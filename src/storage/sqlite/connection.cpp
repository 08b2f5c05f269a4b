#include "storage/sqlite/connection.hpp"

namespace sl::storage::sqlite {
namespace {

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view what) {
  throw sqlite_error(rc, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

statement::~statement() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

statement& statement::bind(int i, std::string_view v) {
  if (int rc = sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); rc != SQLITE_OK)
    raise(sqlite3_db_handle(s_), rc, "bind");
  return *this;
}

statement& statement::bind(int i, std::int64_t v) {
  if (int rc = sqlite3_bind_int64(s_, i, v); rc != SQLITE_OK) raise(sqlite3_db_handle(s_), rc, "bind");
  return *this;
}

statement& statement::bind(int i, std::nullptr_t) {
  if (int rc = sqlite3_bind_null(s_, i); rc != SQLITE_OK) raise(sqlite3_db_handle(s_), rc, "bind");
  return *this;
}

bool statement::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  raise(sqlite3_db_handle(s_), rc, "step");
}

int statement::exec() {
  while (step()) {
  }
  return sqlite3_changes(sqlite3_db_handle(s_));
}

bool statement::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
std::int64_t statement::int64(int col) const { return sqlite3_column_int64(s_, col); }

double statement::real(int col) const { return sqlite3_column_double(s_, col); }

std::string statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col))) : std::string();
}

std::optional<std::string> statement::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> statement::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

connection::connection(const std::string& path, bool read_only) {
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  if (int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr); rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw sqlite_error(rc, "open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA foreign_keys = ON");
  if (!read_only) {
    exec("PRAGMA journal_mode = WAL");
    // WAL + NORMAL: a commit survives a process crash; the last commits may be
    // lost on power loss (documented in docs/architecture.md).
    exec("PRAGMA synchronous = NORMAL");
  }
  exec("PRAGMA temp_store = MEMORY");
  exec("PRAGMA cache_size = -16000");
}

connection::~connection() {
  for (auto& [sql, st] : cache_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

statement connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* st = nullptr;
    if (int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr); rc != SQLITE_OK)
      raise(db_, rc, std::string("prepare ") + sql);
    it = cache_.emplace(sql, st).first;
  }
  return statement(it->second);
}

void connection::exec(const std::string& sql) {
  char* err = nullptr;
  if (int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw sqlite_error(rc, msg);
  }
}

}  // namespace sl::storage::sqlite
