#pragma once
// The REST API of contract.md section 2: route registration over the domain
// services. The context outlives the server; handlers run on I/O threads.

#include <functional>
#include <string>

#include "domain/auth_service.hpp"
#include "domain/channel_service.hpp"
#include "domain/message_service.hpp"
#include "domain/store.hpp"
#include "transport/http/router.hpp"

namespace sl::http {

struct api_info {
  std::string app_name = "Signalink";
  std::string version;
  std::string environment = "development";
  std::string database_backend;  // "sqlite" | "postgresql"
  std::string share_dir;         // where openapi.json, the docs UI and the web app live
  int gateway_port = 8001;       // where the web app opens its WebSocket, on the page's own host
  std::string gateway_url;       // ... unless this is set (ws[s]://host[:port]/ws behind a proxy)
};

struct api_context {
  domain::store& db;
  domain::auth_service& auth;
  domain::channel_service& channels;
  domain::message_service& messages;
  api_info info;
};

// A handler of a route that requires `Authorization: Bearer`: it runs only
// for an authenticated caller; 401/403 are answered before it.
using authed_handler = task<response> (*)(api_context& ctx, request& req, const domain::principal& caller);
void add_authed(router& r, api_context& ctx, std::string method, std::string pattern, authed_handler h);

void add_system_routes(router& r, api_context& ctx);
void add_user_routes(router& r, api_context& ctx);
void add_channel_routes(router& r, api_context& ctx);
void add_message_routes(router& r, api_context& ctx);
void add_notification_routes(router& r, api_context& ctx);
// The web client under /app/ (share_dir/app, built by web/app): hashed assets
// cached for a year, the page itself revalidated, all under a strict CSP.
void add_app_routes(router& r, api_context& ctx);

inline void add_api_routes(router& r, api_context& ctx) {
  add_system_routes(r, ctx);
  add_user_routes(r, ctx);
  add_channel_routes(r, ctx);
  add_message_routes(r, ctx);
  add_notification_routes(r, ctx);
  add_app_routes(r, ctx);
}

}  // namespace sl::http
