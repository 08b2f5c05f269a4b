#pragma once
// Reading requests: JSON bodies, path ids, paging and the caller's identity,
// each failing with the contract's status and shape.

#include <boost/json/object.hpp>

#include "base/result.hpp"
#include "domain/store.hpp"
#include "domain/validation.hpp"
#include "transport/http/api.hpp"
#include "transport/http/message.hpp"

namespace sl::http {

// The body as a JSON object; 422 json_invalid / model_attributes_type otherwise.
result<boost::json::object> json_body(const request& req);
// The path parameter `name` as an id; 422 uuid_parsing otherwise.
template <typename Id>
result<Id> path_id(const request& req, const std::string& name) {
  const auto& raw = req.param(name);
  if (auto id = Id::parse(raw)) return *id;
  error e = fail(error_kind::invalid, "invalid path parameter");
  e.fields.push_back(domain::uuid_error("path", name, raw));
  return e;
}
// An integer query parameter (absent: nullopt) in [ge, le]; errors are
// appended to `errors` (FastAPI's int_parsing, greater_than_equal, less_than_equal).
std::optional<std::int64_t> query_int(const request& req, std::string_view name, std::int64_t ge,
                                      std::vector<field_error>& errors, std::optional<std::int64_t> le = std::nullopt);
// skip/limit with the endpoint's default and maximum (a larger limit is clamped).
result<domain::page> paging(const request& req, std::int64_t default_limit, std::int64_t max_limit);
// The caller, from `Authorization: Bearer`; 401/403 otherwise.
// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
std::optional<std::string_view> bearer_token(std::string_view header);
task<result<domain::principal>> authenticate(api_context& ctx, const request& req);
error invalid(std::vector<field_error> fields);

}  // namespace sl::http
