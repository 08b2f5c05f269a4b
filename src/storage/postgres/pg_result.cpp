#include "storage/postgres/pg_result.hpp"

#include <cstdlib>

namespace sl::storage::postgres {

ExecStatusType pg_result::status() const noexcept { return r_ ? PQresultStatus(r_.get()) : PGRES_FATAL_ERROR; }

bool pg_result::ok() const noexcept {
  const auto s = status();
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_SINGLE_TUPLE;
}

int pg_result::rows() const noexcept { return r_ ? PQntuples(r_.get()) : 0; }

int pg_result::columns() const noexcept { return r_ ? PQnfields(r_.get()) : 0; }

bool pg_result::is_null(int row, int col) const noexcept { return PQgetisnull(r_.get(), row, col) != 0; }

std::string_view pg_result::text(int row, int col) const noexcept {
  return {PQgetvalue(r_.get(), row, col), static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

long pg_result::affected() const noexcept {
  const char* n = r_ ? PQcmdTuples(r_.get()) : "";
  return *n ? std::strtol(n, nullptr, 10) : 0;
}

namespace {
std::string field(const PGresult* r, int code) {
  const char* v = r ? PQresultErrorField(r, code) : nullptr;
  return v ? std::string(v) : std::string();
}
}  // namespace

std::string pg_result::sqlstate() const { return field(r_.get(), PG_DIAG_SQLSTATE); }

std::string pg_result::constraint() const { return field(r_.get(), PG_DIAG_CONSTRAINT_NAME); }

std::string pg_result::error_message() const {
  if (!r_) return "no result";
  if (aborted()) return "skipped: an earlier statement of the pipeline failed";
  std::string m = field(r_.get(), PG_DIAG_MESSAGE_PRIMARY);
  return m.empty() ? std::string(PQresStatus(status())) : m;
}

const pg_result& pg_result::expect_ok(std::string_view what) const {
  if (!ok()) throw pg_error(std::string(what) + ": " + error_message(), sqlstate());
  return *this;
}

}  // namespace sl::storage::postgres
