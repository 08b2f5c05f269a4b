#include <boost/json.hpp>
#include <memory>

#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/static_files.hpp"

namespace sl::http {
namespace {

// The app loads nothing but its own files; its only other connection is the
// gateway's WebSocket, on another port (so not 'self').
const static_files::header_list app_headers{
    {"Content-Security-Policy",
     "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; "
     "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
};

task<response> config(const api_info& info) {
  boost::json::object o{{"gateway_port", info.gateway_port}};
  if (info.gateway_url.empty())
    o["gateway_url"] = nullptr;
  else
    o["gateway_url"] = info.gateway_url;
  auto r = json(200, o);
  r.header("Cache-Control", "no-cache");
  co_return r;
}

}  // namespace

void add_app_routes(router& r, api_context& ctx) {
  auto files = std::make_shared<static_files>();
  if (const auto& root = ctx.info.share_dir; !root.empty()) {
    // Vite names every asset after its content hash: a changed file is a new URL.
    files->load_dir(root + "/app/assets", "assets/", "public, max-age=31536000, immutable", app_headers);
    files->load_dir(root + "/app", "", "public, max-age=300", app_headers);
    files->load(root + "/app/index.html", "index.html", "no-cache", app_headers);
  }
  r.add("GET", "/app/", serve(files, "index.html"));
  r.add("GET", "/app/config.json", [&ctx](request&) { return config(ctx.info); });
  r.add("GET", "/app/assets/{name}", serve(files, "assets/", "name"));
  r.add("GET", "/app/{name}", serve(files, "", "name"));
}

}  // namespace sl::http
