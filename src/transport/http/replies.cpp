#include "transport/http/replies.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "observability/metrics.hpp"

namespace sl::http {

response json(int status, const boost::json::value& v) {
  response r;
  r.status = status;
  r.body = boost::json::serialize(v);
  return r;
}

response detail(int status, std::string_view text) { return json(status, boost::json::object{{"detail", text}}); }

response no_content() {
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response validation_failed(const std::vector<field_error>& errors) {
  boost::json::array list;
  for (const auto& e : errors) {
    boost::json::object o;
    o["type"] = e.type;
    boost::json::array loc;
    for (const auto& part : e.loc) {
      // Positions (as in a JSON decode error) are numbers, names are strings.
      const bool numeric = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
      if (numeric)
        loc.emplace_back(std::stoll(part));
      else
        loc.emplace_back(part);
    }
    o["loc"] = std::move(loc);
    o["msg"] = e.msg;
    boost::system::error_code ec;
    auto input = boost::json::parse(e.input_json.empty() ? "null" : e.input_json, ec);
    o["input"] = ec ? boost::json::value(nullptr) : std::move(input);
    if (!e.ctx_json.empty()) {
      auto ctx = boost::json::parse(e.ctx_json, ec);
      if (!ec) o["ctx"] = std::move(ctx);
    }
    list.push_back(std::move(o));
  }
  return json(422, boost::json::object{{"detail", std::move(list)}});
}

int status_of(error_kind k) {
  switch (k) {
    case error_kind::bad_request:
      return 400;
    case error_kind::unauthorized:
      return 401;
    case error_kind::forbidden:
      return 403;
    case error_kind::not_found:
      return 404;
    case error_kind::invalid:
      return 422;
    case error_kind::rate_limited:
      return 429;
    case error_kind::unavailable:
      return 503;
  }
  return 500;
}

response from_error(const error& e) {
  if (e.kind == error_kind::invalid && !e.fields.empty()) return validation_failed(e.fields);
  auto r = detail(status_of(e.kind), e.detail);
  if (e.kind == error_kind::unauthorized) r.header("WWW-Authenticate", "Bearer");
  return r;
}

response prometheus_metrics() {
  response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = obs::render_metrics();
  return r;
}

task<bool> probe(task<bool> check) {
  try {
    co_return co_await std::move(check);
  } catch (const std::exception&) {
    co_return false;
  }
}

}  // namespace sl::http
