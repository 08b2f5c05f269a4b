#include "domain/validation.hpp"

#include <boost/json/serialize.hpp>
#include <cctype>
#include <cmath>

namespace sl::domain {
namespace {

std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

std::string join_quoted(std::initializer_list<std::string_view> items) {
  std::string out;
  std::size_t i = 0;
  for (auto it : items) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += "'" + std::string(it) + "'";
    ++i;
  }
  return out;
}

// A double that is an integer within int64 range (2^63 itself is not).
bool is_whole_int64(double d) { return d >= -9223372036854775808.0 && d < 9223372036854775808.0 && d == std::trunc(d); }

}  // namespace

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool is_blank(std::string_view s) {
  for (unsigned char c : s)
    if (!std::isspace(c)) return false;
  return true;
}

bool is_valid_email(std::string_view s) {
  const auto at = s.find('@');
  if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos) return false;
  const auto local = s.substr(0, at);
  const auto domain = s.substr(at + 1);
  if (local.size() > 64 || domain.size() > 253 || domain.empty()) return false;
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (unsigned char c : local)
    if (std::isspace(c) || std::iscntrl(c) || c == '(' || c == ')' || c == ',' || c == ';' || c == ':' || c == '<' ||
        c == '>' || c == '[' || c == ']' || c == '\\' || c == '"')
      return false;
  const auto dot = domain.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < domain.size(); ++i) {
    const unsigned char c = domain[i];
    if (c == '.') {
      if (label == 0 || domain[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(std::isalnum(c) || c == '-' || c >= 0x80)) return false;
    if (label == 0 && c == '-') return false;
    if (++label > 63) return false;
  }
  const auto tld = domain.substr(dot + 1);
  for (unsigned char c : tld)
    if (std::isdigit(c)) return false;
  return true;
}

field_reader::field_reader(const boost::json::object& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

const boost::json::value* field_reader::find(std::string_view name) const { return obj_.if_contains(name); }

void field_reader::add(std::string type, std::string_view name, std::string msg, const boost::json::value* input,
                       std::string ctx_json) {
  errors_.push_back(field_error{std::move(type),
                                {where_, std::string(name)},
                                std::move(msg),
                                input ? json_text(*input) : std::string("null"),
                                std::move(ctx_json)});
}

void field_reader::missing(std::string_view name) {
  errors_.push_back(field_error{"missing", {where_, std::string(name)}, "Field required", json_text(obj_), {}});
}

std::optional<std::string> field_reader::required_string(std::string_view name, std::size_t min, std::size_t max) {
  const auto* v = find(name);
  if (!v) {
    missing(name);
    return std::nullopt;
  }
  auto r = optional_string(name, min, max);
  if (r && !*r) {
    add("string_type", name, "Input should be a valid string", v);
    return std::nullopt;
  }
  if (!r) return std::nullopt;
  return std::move(**r);
}

std::optional<std::optional<std::string>> field_reader::optional_string(std::string_view name, std::size_t min,
                                                                        std::size_t max) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) {
    add("string_type", name, "Input should be a valid string", v);
    return std::nullopt;
  }
  std::string s(v->as_string());
  if (s.find('\0') != std::string::npos) {
    add_nul_error(name, v);
    return std::nullopt;
  }
  const auto n = utf8_length(s);
  if (n < min) {
    add("string_too_short", name,
        "String should have at least " + std::to_string(min) + (min == 1 ? " character" : " characters"), v,
        "{\"min_length\":" + std::to_string(min) + "}");
    return std::nullopt;
  }
  if (n > max) {
    add("string_too_long", name,
        "String should have at most " + std::to_string(max) + (max == 1 ? " character" : " characters"), v,
        "{\"max_length\":" + std::to_string(max) + "}");
    return std::nullopt;
  }
  return std::optional<std::string>{std::move(s)};
}

std::optional<bool> field_reader::optional_bool(std::string_view name) {
  const auto* v = find(name);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_bool()) return v->as_bool();
  // Pydantic's lax mode: 0/1 and the usual words are booleans too.
  const auto unable = [&] {
    add("bool_parsing", name, "Input should be a valid boolean, unable to interpret input", v);
    return std::nullopt;
  };
  if (v->is_int64() || v->is_uint64()) {
    const auto n = v->to_number<std::int64_t>();
    if (n == 0 || n == 1) return n == 1;
    return unable();
  }
  if (v->is_string()) {
    std::string s(v->as_string());
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto t : {"1", "on", "t", "true", "y", "yes"})
      if (s == t) return true;
    for (auto f : {"0", "off", "f", "false", "n", "no"})
      if (s == f) return false;
    return unable();
  }
  if (v->is_double()) return unable();
  add("bool_type", name, "Input should be a valid boolean", v);
  return std::nullopt;
}

std::optional<std::int64_t> field_reader::optional_int(std::string_view name, std::optional<std::int64_t> ge) {
  const auto* v = find(name);
  if (!v || v->is_null()) return std::nullopt;
  std::int64_t n;
  if (v->is_int64())
    n = v->as_int64();
  else if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    n = static_cast<std::int64_t>(v->as_uint64());
  else if (v->is_double() && is_whole_int64(v->as_double()))
    n = static_cast<std::int64_t>(v->as_double());
  else {
    add("int_type", name, "Input should be a valid integer", v);
    return std::nullopt;
  }
  if (ge && n < *ge) {
    add("greater_than_equal", name, "Input should be greater than or equal to " + std::to_string(*ge), v,
        "{\"ge\":" + std::to_string(*ge) + "}");
    return std::nullopt;
  }
  return n;
}

std::optional<uuid> field_reader::required_uuid(std::string_view name) {
  const auto* v = find(name);
  if (!v) {
    missing(name);
    return std::nullopt;
  }
  auto r = optional_uuid(name);
  if (r && !*r) {
    add("uuid_type", name, "UUID input should be a string, bytes or UUID object", v);
    return std::nullopt;
  }
  if (!r) return std::nullopt;
  return **r;
}

std::optional<std::optional<uuid>> field_reader::optional_uuid(std::string_view name) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (v->is_null()) return std::optional<uuid>{};
  if (!v->is_string()) {
    add("uuid_type", name, "UUID input should be a string, bytes or UUID object", v);
    return std::nullopt;
  }
  std::string why;
  auto u = uuid::parse(v->as_string(), &why);
  if (!u) {
    add("uuid_parsing", name, "Input should be a valid UUID, " + why, v,
        json_text(boost::json::object{{"error", why}}));
    return std::nullopt;
  }
  return std::optional<uuid>{*u};
}

std::optional<std::string> field_reader::optional_enum(std::string_view name,
                                                       std::initializer_list<std::string_view> allowed) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (v->is_string()) {
    for (auto a : allowed)
      if (v->as_string() == a) return std::string(a);
  }
  add("enum", name, "Input should be " + join_quoted(allowed), v,
      json_text(boost::json::object{{"expected", join_quoted(allowed)}}));
  return std::nullopt;
}

std::optional<boost::json::value> field_reader::optional_object(std::string_view name) {
  const auto* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_null() && !v->is_object()) {
    add("dict_type", name, "Input should be a valid dictionary", v);
    return std::nullopt;
  }
  if (contains_nul(*v)) {
    add_nul_error(name, v);
    return std::nullopt;
  }
  return *v;
}

bool field_reader::contains_nul(const boost::json::value& v) {
  // Iterative: metadata may nest deeply.
  std::vector<const boost::json::value*> todo{&v};
  while (!todo.empty()) {
    const auto* x = todo.back();
    todo.pop_back();
    if (x->is_string()) {
      if (x->as_string().subview().find('\0') != std::string_view::npos) return true;
    } else if (x->is_array()) {
      for (const auto& e : x->as_array()) todo.push_back(&e);
    } else if (x->is_object()) {
      for (const auto& kv : x->as_object()) {
        if (kv.key().find('\0') != std::string_view::npos) return true;
        todo.push_back(&kv.value());
      }
    }
  }
  return false;
}

void field_reader::add_nul_error(std::string_view name, const boost::json::value* v) {
  // PostgreSQL stores no NUL character in text or jsonb: refused on every backend alike.
  add("value_error", name, "Value error, NUL characters are not allowed", v, "{\"error\":{}}");
}

field_error json_invalid_error(std::string_view parser_message, std::size_t offset) {
  return field_error{"json_invalid",
                     {"body", std::to_string(offset)},
                     "JSON decode error",
                     "{}",
                     json_text(boost::json::object{{"error", parser_message}})};
}

field_error not_an_object_error(const boost::json::value& v) {
  return field_error{"model_attributes_type",
                     {"body"},
                     "Input should be a valid dictionary or object to extract fields from",
                     json_text(v),
                     {}};
}

field_error uuid_error(std::string_view where, std::string_view name, std::string_view input) {
  std::string why;
  uuid::parse(input, &why);
  return field_error{"uuid_parsing",
                     {std::string(where), std::string(name)},
                     "Input should be a valid UUID, " + why,
                     json_text(boost::json::string(input)),
                     json_text(boost::json::object{{"error", why}})};
}

}  // namespace sl::domain
