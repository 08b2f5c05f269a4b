// The notifier role's endpoints: /, /health, /metrics.

#include "transport/http/notifier_api.hpp"
#include "transport/http/replies.hpp"

namespace sl::http {
namespace {

using boost::json::object;

task<response> root(notifier_context& ctx) {
  co_return json(200, object{{"name", ctx.info.app_name + " Notifier"},
                             {"version", ctx.info.version},
                             {"status", "running"},
                             {"health", "/health"},
                             {"metrics", "/metrics"}});
}

task<response> health(notifier_context& ctx) {
  const bool db_ok = co_await probe(ctx.db.ping());
  const bool log_ok = !ctx.event_log_ok || co_await probe(ctx.event_log_ok());
  std::int64_t pending = -1;
  try {
    if (db_ok) pending = co_await ctx.db.notifications().pending_deliveries();
  } catch (const std::exception&) {
    pending = -1;
  }
  const bool ok = db_ok && log_ok;
  co_return json(ok ? 200 : 503, object{{"status", ok ? "healthy" : "degraded"},
                                        {"service", "notifier"},
                                        {"version", ctx.info.version},
                                        {"environment", ctx.info.environment},
                                        {"database", db_ok ? "connected" : "disconnected"},
                                        {"event_log", ctx.info.event_log},
                                        {"event_log_status", log_ok ? "connected" : "disconnected"},
                                        {"email", ctx.info.email_enabled ? "enabled" : "disabled"},
                                        {"pending_deliveries", pending}});
}

}  // namespace

void add_notifier_routes(router& r, notifier_context& ctx) {
  r.add("GET", "/", [&ctx](request&) { return root(ctx); });
  r.add("GET", "/health", [&ctx](request&) { return health(ctx); });
  r.add("GET", "/metrics", [](request&) -> task<response> { co_return prometheus_metrics(); });
}

}  // namespace sl::http
