#include "transport/http/admin_routes.hpp"

#include "base/log.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"

namespace sl::http {
namespace {

response level_reply() { return json(200, boost::json::object{{"level", log::format_spec(log::current_spec())}}); }

task<response> get_level(request& req) {
  if (!is_loopback(req.client_address)) co_return detail(403, "Forbidden");
  co_return level_reply();
}

task<response> put_level(request& req) {
  if (!is_loopback(req.client_address)) co_return detail(403, "Forbidden");
  auto body = json_body(req);
  if (!body) co_return detail(422, "The body must be a JSON object with a \"level\" string");
  const auto* text = body->if_contains("level");
  if (text == nullptr || !text->is_string())
    co_return detail(422, "The body must be a JSON object with a \"level\" string");
  std::string why;
  const auto parsed = log::parse_spec(std::string_view(text->as_string()), &why);
  if (!parsed) co_return detail(422, "Invalid level: " + why);
  log::set_spec(*parsed);
  // Written after the change, so it shows whenever the new spec lets it through.
  log::info("log level changed", {{"level", log::format_spec(*parsed)}});
  co_return level_reply();
}

}  // namespace

bool is_loopback(std::string_view address) noexcept {
  if (address.starts_with("::ffff:")) address.remove_prefix(7);
  return address.starts_with("127.") || address == "::1";
}

void add_admin_routes(router& r) {
  r.add("GET", "/admin/log-level", get_level);
  r.add("PUT", "/admin/log-level", put_level);
}

}  // namespace sl::http
