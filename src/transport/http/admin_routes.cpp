#include "transport/http/admin_routes.hpp"

#include <boost/asio/ip/address.hpp>

#include "base/log.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"

namespace sl::http {
namespace {

bool from_operator(const request& req) { return !req.via_proxy && is_loopback(req.client_address); }

response level_reply() { return json(200, boost::json::object{{"level", log::format_spec(log::current_spec())}}); }

task<response> get_level(request& req) {
  if (!from_operator(req)) co_return detail(403, "Forbidden");
  co_return level_reply();
}

task<response> put_level(request& req) {
  if (!from_operator(req)) co_return detail(403, "Forbidden");
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
  namespace ip = boost::asio::ip;
  boost::system::error_code ec;
  const ip::address a = ip::make_address(address, ec);
  if (ec) return false;
  if (a.is_v4()) return a.to_v4().is_loopback();
  const ip::address_v6 a6 = a.to_v6();
  if (a6.is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a6).is_loopback();
  return a6.is_loopback();
}

void add_admin_routes(router& r) {
  r.add("GET", "/admin/log-level", get_level);
  r.add("PUT", "/admin/log-level", put_level);
}

}  // namespace sl::http
