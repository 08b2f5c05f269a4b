// Service endpoints: `/`, `/health`, `/metrics`, `/openapi.json` and the docs UI.

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "observability/metrics.hpp"
#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

std::string content_type_of(const std::filesystem::path& p) {
  const auto ext = p.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "application/javascript";
  if (ext == ".css") return "text/css";
  if (ext == ".json") return "application/json";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".map") return "application/json";
  return "application/octet-stream";
}

// Files served from the share dir, read once at start-up.
struct static_files {
  std::map<std::string, response> by_name;

  explicit static_files(const std::string& share_dir) {
    namespace fs = std::filesystem;
    if (share_dir.empty()) return;
    auto load = [&](const fs::path& file, const std::string& name, const std::string& cache) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return;
      std::ostringstream ss;
      ss << in.rdbuf();
      response r;
      r.content_type = content_type_of(file);
      r.body = ss.str();
      r.header("Cache-Control", cache);
      by_name.emplace(name, std::move(r));
    };
    const fs::path root(share_dir);
    load(root / "openapi.json", "openapi.json", "no-cache");
    load(root / "docs" / "swagger.html", "swagger.html", "no-cache");
    load(root / "docs" / "redoc.html", "redoc.html", "no-cache");
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root / "docs", ec))
      if (e.is_regular_file()) load(e.path(), "assets/" + e.path().filename().string(), "public, max-age=86400");
  }

  response get(const std::string& name) const {
    auto it = by_name.find(name);
    if (it == by_name.end()) return detail(404, "Not Found");
    return it->second;
  }
};

task<response> root(api_context& ctx) {
  co_return json(200, boost::json::object{{"name", ctx.info.app_name + " API"},
                                          {"version", ctx.info.version},
                                          {"environment", ctx.info.environment},
                                          {"status", "operational"},
                                          {"docs", "/docs"},
                                          {"health", "/health"}});
}

task<response> health(api_context& ctx) {
  bool db_ok = false;
  try {
    db_ok = co_await ctx.db.ping();
  } catch (const std::exception&) {
    db_ok = false;
  }
  boost::json::object o{{"status", db_ok ? "healthy" : "degraded"},
                        {"environment", ctx.info.environment},
                        {"version", ctx.info.version},
                        {"database", db_ok ? "connected" : "disconnected"},
                        {"database_backend", ctx.info.database_backend}};
  co_return json(db_ok ? 200 : 503, o);
}

task<response> metrics() {
  response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = obs::render_metrics();
  co_return r;
}

task<response> file(const static_files& files, std::string name) { co_return files.get(name); }

}  // namespace

void add_system_routes(router& r, api_context& ctx) {
  // Read once here and shared by the routes below, which keep it alive.
  auto files = std::make_shared<const static_files>(ctx.info.share_dir);
  r.add("GET", "/", [&ctx](request&) { return root(ctx); });
  r.add("GET", "/health", [&ctx](request&) { return health(ctx); });
  r.add("GET", "/metrics", [](request&) { return metrics(); });
  r.add("GET", "/openapi.json", [files](request&) { return file(*files, "openapi.json"); });
  r.add("GET", "/docs", [files](request&) { return file(*files, "swagger.html"); });
  r.add("GET", "/redoc", [files](request&) { return file(*files, "redoc.html"); });
  r.add("GET", "/docs/assets/{name}", [files](request& q) { return file(*files, "assets/" + q.param("name")); });
}

}  // namespace sl::http
