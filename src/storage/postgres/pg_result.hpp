#pragma once
// pg_result: an owned PGresult (RAII) with text accessors, and pg_error, the
// exception thrown for infrastructure failures (connection lost, timeout,
// unexpected SQL error). Expected conflicts are read from a failed result's
// SQLSTATE and constraint name instead of being thrown.
//
// Not thread-safe; a result is read by the coroutine that received it.

#include <libpq-fe.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "base/error.hpp"

namespace sl::storage::postgres {

class pg_error : public sl::infrastructure_error {
 public:
  explicit pg_error(const std::string& what, std::string sqlstate = {})
      : sl::infrastructure_error(what), sqlstate_(std::move(sqlstate)) {}
  // Client-side failures (I/O, timeouts, no connection), connection
  // exceptions (08), insufficient resources (53) and shutdowns (57P0x).
  bool transient() const noexcept override {
    return sqlstate_.empty() || sqlstate_.starts_with("08") || sqlstate_.starts_with("53") ||
           sqlstate_.starts_with("57P0");
  }
  // Five-character SQLSTATE, empty for client-side failures (I/O, timeout).
  const std::string& sqlstate() const noexcept { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// SQLSTATEs the store reacts to.
inline constexpr std::string_view unique_violation = "23505";
inline constexpr std::string_view foreign_key_violation = "23503";

class pg_result {
 public:
  pg_result() = default;
  explicit pg_result(PGresult* r) noexcept : r_(r) {}

  explicit operator bool() const noexcept { return r_ != nullptr; }
  PGresult* get() const noexcept { return r_.get(); }

  ExecStatusType status() const noexcept;
  // COMMAND_OK, TUPLES_OK or SINGLE_TUPLE.
  bool ok() const noexcept;
  // Skipped because an earlier statement of the same pipeline failed.
  bool aborted() const noexcept { return status() == PGRES_PIPELINE_ABORTED; }

  int rows() const noexcept;
  int columns() const noexcept;
  bool is_null(int row, int col) const noexcept;
  // The value's text form; empty for NULL. Valid while this result lives.
  std::string_view text(int row, int col) const noexcept;
  // Rows touched by INSERT/UPDATE/DELETE.
  long affected() const noexcept;

  std::string sqlstate() const;
  std::string constraint() const;
  std::string error_message() const;

  // Throws pg_error (with `what` as context) unless ok(); returns *this.
  const pg_result& expect_ok(std::string_view what) const;

 private:
  struct deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, deleter> r_;
};

}  // namespace sl::storage::postgres
