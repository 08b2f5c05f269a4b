#pragma once
// array_literal: builds the text form of a one-dimensional PostgreSQL array,
// so that a whole column of values travels as one text parameter, cast in the
// SQL ($1::uuid[], $2::text[], $3::jsonb[]...).
//
// Every value is written double-quoted, with `"` and `\` escaped by a
// backslash, so any text reads back unchanged: the empty string, spaces,
// commas, braces, quotes and the word NULL included. A missing value is the
// unquoted NULL. PostgreSQL text cannot hold a NUL byte: add() throws pg_error
// for a value containing one (nothing is appended then).
//
// A plain value: build, str(), discard.

#include <optional>
#include <string>
#include <string_view>

namespace sl::storage::postgres::detail {

class array_literal {
 public:
  array_literal& add(std::string_view v);
  array_literal& add_null();
  array_literal& add_or_null(const std::optional<std::string>& v) { return v ? add(*v) : add_null(); }

  // `{"a","b\"c",NULL}`; `{}` when nothing was added.
  std::string str() const;
  std::size_t size() const noexcept { return size_; }

 private:
  void separate();

  std::string body_;
  std::size_t size_ = 0;
};

}  // namespace sl::storage::postgres::detail
