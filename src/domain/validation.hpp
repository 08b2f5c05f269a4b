#pragma once
// Reads fields out of a JSON request object and collects every failure in
// FastAPI's 422 shape (type, loc, msg, input, ctx), so one bad request reports
// all of its bad fields at once. Lengths count Unicode code points, like pydantic.
// Used by every transport (REST bodies and query strings, WebSocket frames).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "base/uuid.hpp"

namespace sl::domain {

// Code points in a UTF-8 string (invalid bytes count one each).
std::size_t utf8_length(std::string_view s);
bool is_blank(std::string_view s);
bool is_valid_email(std::string_view s);

class field_reader {
 public:
  // `where` is the first element of each error's loc ("body", "query"...).
  field_reader(const boost::json::object& obj, std::string where);

  // Absent, null or wrong type is an error; length within [min, max].
  std::optional<std::string> required_string(std::string_view name, std::size_t min, std::size_t max);
  // Absent: nullopt. Null: engaged empty optional. Otherwise checked like required_string.
  std::optional<std::optional<std::string>> optional_string(std::string_view name, std::size_t min, std::size_t max);
  std::optional<bool> optional_bool(std::string_view name);
  std::optional<std::int64_t> optional_int(std::string_view name, std::optional<std::int64_t> ge = std::nullopt);
  std::optional<uuid> required_uuid(std::string_view name);
  std::optional<std::optional<uuid>> optional_uuid(std::string_view name);
  // One of `allowed`; absent gives nullopt.
  std::optional<std::string> optional_enum(std::string_view name, std::initializer_list<std::string_view> allowed);
  // An object or null; absent gives nullopt.
  std::optional<boost::json::value> optional_object(std::string_view name);

  void add(std::string type, std::string_view name, std::string msg, const boost::json::value* input,
           std::string ctx_json = {});
  bool ok() const noexcept { return errors_.empty(); }
  std::vector<field_error>& errors() noexcept { return errors_; }

 private:
  const boost::json::value* find(std::string_view name) const;
  static bool contains_nul(const boost::json::value& v);
  void add_nul_error(std::string_view name, const boost::json::value* v);
  void missing(std::string_view name);

  const boost::json::object& obj_;
  std::string where_;
  std::vector<field_error> errors_;
};

// The error of a whole body that is not a JSON object / not JSON at all.
field_error json_invalid_error(std::string_view parser_message, std::size_t offset);
field_error not_an_object_error(const boost::json::value& v);
field_error uuid_error(std::string_view where, std::string_view name, std::string_view input);

}  // namespace sl::domain
