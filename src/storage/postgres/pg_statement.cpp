#include "storage/postgres/pg_statement.hpp"

#include "storage/postgres/pg_result.hpp"

namespace sl::storage::postgres {

pg_statement& pg_statement::text(std::string_view v) {
  // libpq takes text parameters as C strings: a NUL would silently cut the value.
  if (v.find('\0') != std::string_view::npos) throw pg_error("postgres: a text value contains a NUL byte");
  values_.emplace_back(std::string(v));
  return *this;
}

pg_statement& pg_statement::null() {
  values_.emplace_back(std::nullopt);
  return *this;
}

pg_statement& pg_statement::boolean(bool v) { return text(v ? "t" : "f"); }

pg_statement& pg_statement::integer(std::int64_t v) { return text(std::to_string(v)); }

// The ISO form with `Z` is read by timestamptz input whatever the session time zone.
pg_statement& pg_statement::time(timestamp t) { return text(format_iso(t)); }

pg_statement& pg_statement::id(const uuid& u) { return text(u.str()); }

const std::vector<const char*>& pg_statement::values() const {
  ptrs_.clear();
  ptrs_.reserve(values_.size());
  for (const auto& v : values_) ptrs_.push_back(v ? v->c_str() : nullptr);
  return ptrs_;
}

}  // namespace sl::storage::postgres
