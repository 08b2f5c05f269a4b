#pragma once
// pg_statement: one SQL statement and its parameters, every parameter bound in
// text form (PostgreSQL casts it to the column's type). A statement with a
// name is prepared once per connection under that name and then executed by
// name; one name must always stand for the same SQL text.
//
// Plain values: build, move into pg_connection::exec, discard. text() throws
// pg_error for a value holding a NUL byte (PostgreSQL text cannot store one).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.hpp"
#include "base/uuid.hpp"

namespace sl::storage::postgres {

class pg_statement {
 public:
  // `name` and `sql` must outlive the statement (string literals in practice).
  explicit pg_statement(const char* sql, const char* name = nullptr) : sql_(sql), name_(name) {}

  pg_statement& text(std::string_view v);
  pg_statement& null();
  pg_statement& boolean(bool v);
  pg_statement& integer(std::int64_t v);
  pg_statement& time(timestamp t);
  pg_statement& id(const uuid& u);
  template <typename Tag>
  pg_statement& id(const sl::id<Tag>& i) {
    return id(i.value);
  }
  pg_statement& text_or_null(const std::optional<std::string>& v) { return v ? text(*v) : null(); }
  template <typename Tag>
  pg_statement& id_or_null(const std::optional<sl::id<Tag>>& i) {
    return i ? id(*i) : null();
  }

  const char* sql() const noexcept { return sql_; }
  const char* name() const noexcept { return name_; }
  int size() const noexcept { return static_cast<int>(values_.size()); }
  // Pointers into this statement's storage (nullptr for NULL), valid until it changes.
  const std::vector<const char*>& values() const;

 private:
  const char* sql_;
  const char* name_;
  std::vector<std::optional<std::string>> values_;
  mutable std::vector<const char*> ptrs_;
};

}  // namespace sl::storage::postgres
