#include "transport/http/request_io.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

#include "domain/texts.hpp"
#include "transport/http/replies.hpp"

namespace sl::http {

error invalid(std::vector<field_error> fields) {
  error e = fail(error_kind::invalid, "validation failed");
  e.fields = std::move(fields);
  return e;
}

result<boost::json::object> json_body(const request& req) {
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 64;
  auto v = boost::json::parse(req.body, ec, {}, opts);
  if (ec) {
    // Boost.JSON does not report the offset of a syntax error; 0 stands for "the body".
    return invalid({domain::json_invalid_error(req.body.empty() ? "Expecting value" : ec.message(), 0)});
  }
  if (!v.is_object()) return invalid({domain::not_an_object_error(v)});
  return std::move(v.as_object());
}

std::optional<std::int64_t> query_int(const request& req, std::string_view name, std::int64_t ge,
                                      std::vector<field_error>& errors, std::optional<std::int64_t> le) {
  auto raw = req.query_value(name);
  if (!raw) return std::nullopt;
  std::string_view s = *raw;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  const std::string input = "\"" + std::string(*raw) + "\"";
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    errors.push_back(field_error{"int_parsing",
                                 {"query", std::string(name)},
                                 "Input should be a valid integer, unable to parse string as an integer",
                                 input,
                                 {}});
    return std::nullopt;
  }
  if (v < ge) {
    errors.push_back(field_error{"greater_than_equal",
                                 {"query", std::string(name)},
                                 "Input should be greater than or equal to " + std::to_string(ge),
                                 input,
                                 "{\"ge\":" + std::to_string(ge) + "}"});
    return std::nullopt;
  }
  if (le && v > *le) {
    errors.push_back(field_error{"less_than_equal",
                                 {"query", std::string(name)},
                                 "Input should be less than or equal to " + std::to_string(*le),
                                 input,
                                 "{\"le\":" + std::to_string(*le) + "}"});
    return std::nullopt;
  }
  return v;
}

result<domain::page> paging(const request& req, std::int64_t default_limit, std::int64_t max_limit) {
  std::vector<field_error> errors;
  const auto skip = query_int(req, "skip", 0, errors);
  const auto limit = query_int(req, "limit", 0, errors);
  if (!errors.empty()) return invalid(std::move(errors));
  return domain::page{skip.value_or(0), std::min(limit.value_or(default_limit), max_limit)};
}

std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i]) return std::nullopt;
  auto token = header.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

task<result<domain::principal>> authenticate(api_context& ctx, const request& req) {
  auto token = bearer_token(req.authorization);
  if (!token) co_return fail(error_kind::unauthorized, domain::text::not_authenticated);
  co_return co_await ctx.auth.authenticate(*token);
}

namespace {

task<response> run_authed(api_context& ctx, request& req, authed_handler h) {
  auto p = co_await authenticate(ctx, req);
  if (!p) co_return from_error(p.err());
  co_return co_await h(ctx, req, *p);
}

}  // namespace

void add_authed(router& r, api_context& ctx, std::string method, std::string pattern, authed_handler h) {
  r.add(std::move(method), std::move(pattern), [&ctx, h](request& q) { return run_authed(ctx, q, h); });
}

}  // namespace sl::http
