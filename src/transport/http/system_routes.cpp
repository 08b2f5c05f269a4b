// Service endpoints: `/`, `/health`, `/metrics`, `/openapi.json` and the docs UI.

#include <memory>

#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/static_files.hpp"

namespace sl::http {
namespace {

task<response> root(api_context& ctx) {
  co_return json(200, boost::json::object{{"name", ctx.info.app_name + " API"},
                                          {"version", ctx.info.version},
                                          {"environment", ctx.info.environment},
                                          {"status", "operational"},
                                          {"docs", "/docs"},
                                          {"health", "/health"}});
}

task<response> health(api_context& ctx) {
  const bool db_ok = co_await probe(ctx.db.ping());
  boost::json::object o{{"status", db_ok ? "healthy" : "degraded"},
                        {"environment", ctx.info.environment},
                        {"version", ctx.info.version},
                        {"database", db_ok ? "connected" : "disconnected"},
                        {"database_backend", ctx.info.database_backend}};
  co_return json(db_ok ? 200 : 503, o);
}

}  // namespace

void add_system_routes(router& r, api_context& ctx) {
  // Read once here and shared by the routes below, which keep it alive.
  auto files = std::make_shared<static_files>();
  if (const auto& root = ctx.info.share_dir; !root.empty()) {
    files->load(root + "/openapi.json", "openapi.json", "no-cache");
    files->load(root + "/docs/swagger.html", "swagger.html", "no-cache");
    files->load(root + "/docs/redoc.html", "redoc.html", "no-cache");
    files->load_dir(root + "/docs", "assets/", "public, max-age=86400");
  }
  r.add("GET", "/", [&ctx](request&) { return root(ctx); });
  r.add("GET", "/health", [&ctx](request&) { return health(ctx); });
  r.add("GET", "/metrics", [](request&) -> task<response> { co_return prometheus_metrics(); });
  r.add("GET", "/openapi.json", serve(files, "openapi.json"));
  r.add("GET", "/docs", serve(files, "swagger.html"));
  r.add("GET", "/redoc", serve(files, "redoc.html"));
  r.add("GET", "/docs/assets/{name}", serve(files, "assets/", "name"));
}

}  // namespace sl::http
