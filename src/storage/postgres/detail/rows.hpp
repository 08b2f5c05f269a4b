#pragma once
// Reading rows of detail/sql.hpp's column lists into domain values. The
// readers consume columns left to right from a cursor. Malformed values
// (which the schema rules out) throw pg_error.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/model.hpp"
#include "storage/postgres/pg_result.hpp"

namespace sl::storage::postgres::detail {

// "2026-11-28 10:05:03.123456+00" (DateStyle ISO, TimeZone UTC).
timestamp parse_pg_time(std::string_view text);

class row_cursor {
 public:
  row_cursor(const pg_result& r, int row, int col = 0) : r_(r), row_(row), col_(col) {}

  bool null_next() const { return r_.is_null(row_, col_); }
  void skip(int n = 1) { col_ += n; }
  uuid id();
  std::optional<uuid> opt_id();
  std::string text();
  std::optional<std::string> opt_text();
  bool boolean();
  std::int64_t integer();
  std::optional<std::int64_t> opt_integer();
  timestamp time();
  std::optional<timestamp> opt_time();
  // jsonb text parsed; SQL NULL is JSON null.
  boost::json::value json();

 private:
  std::string_view next();

  const pg_result& r_;
  int row_;
  int col_;
};

// Every row of `r` through `read(row_cursor&)`.
template <typename T, typename Read>
std::vector<T> read_all(const pg_result& r, Read read) {
  std::vector<T> out;
  out.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    row_cursor c(r, i);
    out.push_back(read(c));
  }
  return out;
}

domain::user read_user(row_cursor& c);
// SL_PG_USER_COLUMNS when the user may be absent (all NULL).
std::optional<domain::user> read_opt_user(row_cursor& c);
domain::channel read_channel(row_cursor& c);
domain::member read_member(row_cursor& c);
domain::message read_message(row_cursor& c);

}  // namespace sl::storage::postgres::detail
