#pragma once
// A SQLite connection with a cache of prepared statements. Not thread-safe:
// each connection is used by one thread at a time (the writer thread, or a
// reader that checked it out of the pool). Errors throw sqlite_error.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/error.hpp"

namespace sl::storage::sqlite {

struct sqlite_error : sl::infrastructure_error {
  sqlite_error(int code, const std::string& what) : sl::infrastructure_error(what), code(code) {}
  // Locked by another process, disk full or failing, file gone.
  bool transient() const noexcept override {
    const int primary = code & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL || primary == SQLITE_IOERR ||
           primary == SQLITE_CANTOPEN;
  }
  int code;
};

// A prepared statement borrowed from the connection's cache; reset and
// cleared when it goes out of scope.
class statement {
 public:
  explicit statement(sqlite3_stmt* s) : s_(s) {}
  ~statement();
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& bind(int i, std::string_view v);
  statement& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  statement& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  statement& bind(int i, std::int64_t v);
  statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  statement& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  statement& bind(int i, std::nullptr_t);
  template <typename T>
  statement& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, nullptr);
  }
  template <typename... Args>
  statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Advances; true while a row is available.
  bool step();
  // Runs to completion; returns the rows changed.
  int exec();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  double real(int col) const;
  bool boolean(int col) const { return int64(col) != 0; }
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  sqlite3_stmt* s_;
};

class connection {
 public:
  // Opens (creating if needed) the database at `path` with WAL, foreign keys
  // and a busy timeout.
  explicit connection(const std::string& path, bool read_only = false);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // `sql` must outlive the connection (a string literal): it keys the cache.
  statement prepare(const char* sql);
  // Runs one or more statements without results.
  void exec(const std::string& sql);
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

}  // namespace sl::storage::sqlite
