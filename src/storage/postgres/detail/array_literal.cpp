#include "storage/postgres/detail/array_literal.hpp"

#include "storage/postgres/pg_result.hpp"

namespace sl::storage::postgres::detail {

void array_literal::separate() {
  if (size_++ > 0) body_.push_back(',');
}

array_literal& array_literal::add(std::string_view v) {
  // Checked first so that a refused value leaves the literal as it was.
  if (v.find('\0') != std::string_view::npos) throw pg_error("postgres: a text value contains a NUL byte");
  separate();
  body_.reserve(body_.size() + v.size() + 2);
  body_.push_back('"');
  for (const char c : v) {
    // Inside quotes array input reads every other byte as is, whitespace included.
    if (c == '"' || c == '\\') body_.push_back('\\');
    body_.push_back(c);
  }
  body_.push_back('"');
  return *this;
}

array_literal& array_literal::add_null() {
  separate();
  body_.append("NULL");
  return *this;
}

std::string array_literal::str() const {
  std::string out;
  out.reserve(body_.size() + 2);
  out.push_back('{');
  out.append(body_);
  out.push_back('}');
  return out;
}

}  // namespace sl::storage::postgres::detail
