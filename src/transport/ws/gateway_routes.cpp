#include "transport/ws/gateway_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "observability/metrics.hpp"
#include "transport/http/replies.hpp"

namespace sl::ws {
namespace {

task<http::response> root(gateway& g) {
  const auto& s = g.settings();
  co_return http::json(200, boost::json::object{{"name", s.app_name + " WebSocket Gateway"},
                                                {"version", s.version},
                                                {"environment", s.environment},
                                                {"status", "operational"},
                                                {"websocket_endpoint", "/ws"}});
}

task<http::response> health(gateway& g) {
  const bool ok = co_await http::probe(g.broker().check());
  const auto st = g.stats();
  co_return http::json(ok ? 200 : 503, boost::json::object{{"status", ok ? "healthy" : "degraded"},
                                                           {"environment", g.settings().environment},
                                                           {"redis", ok ? "connected" : "disconnected"},
                                                           {"broker", g.broker().name()},
                                                           {"active_connections", st.users.size()}});
}

task<http::response> stats(gateway& g) {
  const auto st = g.stats();
  boost::json::array users;
  users.reserve(st.users.size());
  for (const auto& u : st.users) users.emplace_back(u.str());
  co_return http::json(200, boost::json::object{{"total_connections", st.connections},
                                                {"unique_users_online", st.users.size()},
                                                {"active_channels", st.channels},
                                                {"users_online", std::move(users)}});
}

task<http::response> metrics() {
  http::response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = obs::render_metrics();
  co_return r;
}

}  // namespace

void add_gateway_routes(http::router& r, gateway& g) {
  r.add("GET", "/", [&g](http::request&) { return root(g); });
  r.add("GET", "/health", [&g](http::request&) { return health(g); });
  r.add("GET", "/stats", [&g](http::request&) { return stats(g); });
  r.add("GET", "/metrics", [](http::request&) { return metrics(); });
}

}  // namespace sl::ws
