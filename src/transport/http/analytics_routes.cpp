// The analytics API: every /metrics/... endpoint of contract.md section 5.

#include <openssl/crypto.h>

#include <memory>

#include "domain/analytics.hpp"
#include "transport/http/analytics_api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"
#include "transport/http/static_files.hpp"

namespace sl::http {
namespace {

namespace an = domain::analytics;
using boost::json::array;
using boost::json::object;

// `hours` (in [1, max_hours], default 1) and, when `max_limit` > 0, `limit`
// (in [1, max_limit], default `default_limit`); 422 when out of range.
struct period {
  std::int64_t hours = 1;
  std::int64_t limit = 0;
};

result<period> read_period(const request& req, std::int64_t max_hours, std::int64_t default_hours,
                           std::int64_t default_limit = 0, std::int64_t max_limit = 0) {
  std::vector<field_error> errors;
  period p;
  p.hours = query_int(req, "hours", 1, errors, max_hours).value_or(default_hours);
  if (max_limit > 0) p.limit = query_int(req, "limit", 1, errors, max_limit).value_or(default_limit);
  if (!errors.empty()) return invalid(std::move(errors));
  return p;
}

timestamp since(const analytics_context& ctx, const period& p) { return ctx.clk.now() - std::chrono::hours(p.hours); }

object message_row(const an::message_metrics& m) {
  return object{{"id", m.id.str()},
                {"time_window", format_iso(m.time_window)},
                {"window_duration_seconds", m.window_duration_seconds},
                {"message_count", m.message_count},
                {"messages_per_second", m.messages_per_second},
                {"active_users_count", m.active_users_count},
                {"unique_senders_count", m.unique_senders_count},
                {"active_channels_count", m.active_channels_count},
                {"text_messages_count", m.text_messages_count},
                {"image_messages_count", m.image_messages_count},
                {"file_messages_count", m.file_messages_count},
                {"system_messages_count", m.system_messages_count},
                {"created_at", format_iso(m.created_at)}};
}

object channel_row(const an::channel_metrics& m) {
  return object{{"id", m.id.str()},
                {"channel_id", m.channel.str()},
                {"time_window", format_iso(m.time_window)},
                {"window_duration_seconds", m.window_duration_seconds},
                {"message_count", m.message_count},
                {"unique_senders_count", m.unique_senders_count},
                {"messages_per_second", m.messages_per_second},
                {"created_count", m.created_count},
                {"edited_count", m.edited_count},
                {"deleted_count", m.deleted_count},
                {"created_at", format_iso(m.created_at)}};
}

object user_row(const an::user_metrics& m) {
  return object{{"id", m.id.str()},
                {"user_id", m.user.str()},
                {"time_window", format_iso(m.time_window)},
                {"window_duration_seconds", m.window_duration_seconds},
                {"messages_sent", m.messages_sent},
                {"messages_edited", m.messages_edited},
                {"messages_deleted", m.messages_deleted},
                {"channels_active", m.channels_active},
                {"created_at", format_iso(m.created_at)}};
}

object presence_row(const an::presence_metrics& m) {
  return object{{"id", m.id.str()},
                {"time_window", format_iso(m.time_window)},
                {"window_duration_seconds", m.window_duration_seconds},
                {"users_online", m.users_online},
                {"users_connected", m.users_connected},
                {"users_disconnected", m.users_disconnected},
                {"sockets_peak", m.sockets_peak},
                {"created_at", format_iso(m.created_at)}};
}

template <typename Rows, typename Shape>
array rows_of(const Rows& rows, Shape shape) {
  array out;
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(shape(r));
  return out;
}

double per_second(std::int64_t count, std::int64_t hours) {
  return static_cast<double>(count) / static_cast<double>(hours * 3600);
}

boost::json::value text_or_null(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return boost::json::value(*s);
}

template <typename Id>
boost::json::value id_or_null(const std::optional<Id>& id) {
  if (!id) return nullptr;
  return boost::json::value(id->str());
}

task<response> messages(analytics_context& ctx, request& req) {
  auto p = read_period(req, 168, 1, 100, 1000);
  if (!p) co_return from_error(p.err());
  auto rows = co_await ctx.db.analytics().message_metrics(since(ctx, *p), p->limit);
  co_return json(200, rows_of(rows, message_row));
}

task<response> presence(analytics_context& ctx, request& req) {
  // Up to a week of one-minute windows.
  auto p = read_period(req, 168, 1, 100, 10080);
  if (!p) co_return from_error(p.err());
  auto rows = co_await ctx.db.analytics().presence_metrics(since(ctx, *p), p->limit);
  co_return json(200, rows_of(rows, presence_row));
}

task<response> channel(analytics_context& ctx, request& req) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto p = read_period(req, 168, 1);
  if (!p) co_return from_error(p.err());
  auto rows = co_await ctx.db.analytics().channel_metrics(*id, since(ctx, *p));
  if (rows.empty()) co_return detail(404, "No metrics found for channel " + id->str());
  co_return json(200, rows_of(rows, channel_row));
}

task<response> user(analytics_context& ctx, request& req) {
  auto id = path_id<user_id>(req, "user_id");
  if (!id) co_return from_error(id.err());
  auto p = read_period(req, 168, 1);
  if (!p) co_return from_error(p.err());
  auto rows = co_await ctx.db.analytics().user_metrics(*id, since(ctx, *p));
  if (rows.empty()) co_return detail(404, "No metrics found for user " + id->str());
  co_return json(200, rows_of(rows, user_row));
}

task<response> top_channels(analytics_context& ctx, request& req) {
  auto p = read_period(req, 168, 1, 10, 100);
  if (!p) co_return from_error(p.err());
  auto totals = co_await ctx.db.analytics().top_channels(since(ctx, *p), p->limit);
  array out;
  for (const auto& t : totals) {
    out.push_back(object{{"channel_id", t.channel.str()},
                         {"channel_name", text_or_null(t.name)},
                         {"message_count", t.message_count},
                         {"messages_per_second", per_second(t.message_count, p->hours)},
                         {"unique_senders_count", t.unique_senders_count},
                         {"edited_count", t.edited_count},
                         {"deleted_count", t.deleted_count},
                         {"windows", t.windows}});
  }
  co_return json(200, out);
}

task<response> top_users(analytics_context& ctx, request& req) {
  auto p = read_period(req, 168, 1, 10, 100);
  if (!p) co_return from_error(p.err());
  auto totals = co_await ctx.db.analytics().top_users(since(ctx, *p), p->limit);
  array out;
  for (const auto& t : totals) {
    out.push_back(object{{"user_id", t.user.str()},
                         {"username", text_or_null(t.username)},
                         {"messages_sent", t.messages_sent},
                         {"messages_edited", t.messages_edited},
                         {"messages_deleted", t.messages_deleted},
                         {"channels_active", t.channels_active},
                         {"windows", t.windows}});
  }
  co_return json(200, out);
}

task<response> stats(analytics_context& ctx, request& req) {
  auto p = read_period(req, 24, 1);
  if (!p) co_return from_error(p.err());
  auto& db = ctx.db.analytics();
  const auto t = co_await db.system_totals(since(ctx, *p));
  const auto online = co_await db.users_online_now();
  co_return json(200, object{{"total_messages_last_hour", t.messages},
                             {"messages_per_second", per_second(t.messages, p->hours)},
                             {"active_users_last_hour", t.active_users},
                             {"active_channels_last_hour", t.active_channels},
                             {"most_active_channel_id", id_or_null(t.most_active_channel)},
                             {"most_active_user_id", id_or_null(t.most_active_user)},
                             {"users_online_now", online},
                             {"window_seconds", ctx.info.window_seconds}});
}

task<response> timeseries(analytics_context& ctx, request& req) {
  auto p = read_period(req, 168, 24);
  if (!p) co_return from_error(p.err());
  const auto windows = p->hours * 3600 / std::max(1, ctx.info.window_seconds) + 1;
  auto rows = co_await ctx.db.analytics().message_metrics(since(ctx, *p), windows);
  array series;
  series.reserve(rows.size());
  for (auto it = rows.rbegin(); it != rows.rend(); ++it)
    series.push_back(object{{"timestamp", format_iso(it->time_window)},
                            {"message_count", it->message_count},
                            {"messages_per_second", it->messages_per_second},
                            {"active_users", it->active_users_count},
                            {"active_channels", it->active_channels_count}});
  co_return json(200, object{{"time_series", std::move(series)}});
}

task<response> root(analytics_context& ctx) {
  co_return json(200, object{{"name", ctx.info.app_name + " Analytics"},
                             {"version", ctx.info.version},
                             {"environment", ctx.info.environment},
                             {"status", "operational"},
                             {"window_seconds", ctx.info.window_seconds},
                             {"docs", "/docs"},
                             {"dashboard", "/dashboard"},
                             {"health", "/health"}});
}

task<response> health(analytics_context& ctx) {
  const bool db_ok = co_await probe(ctx.db.ping());
  const bool log_ok = !ctx.event_log_ok || co_await probe(ctx.event_log_ok());
  const bool ok = db_ok && log_ok;
  co_return json(ok ? 200 : 503, object{{"status", ok ? "healthy" : "degraded"},
                                        {"service", "analytics"},
                                        {"version", ctx.info.version},
                                        {"environment", ctx.info.environment},
                                        {"database", db_ok ? "connected" : "disconnected"},
                                        {"event_log", ctx.info.event_log},
                                        {"event_log_status", log_ok ? "connected" : "disconnected"}});
}

// The analytics token, compared in constant time.
bool token_ok(const analytics_context& ctx, const request& req) {
  if (ctx.info.token.empty()) return true;
  auto given = bearer_token(req.authorization);
  return given && given->size() == ctx.info.token.size() &&
         CRYPTO_memcmp(given->data(), ctx.info.token.data(), given->size()) == 0;
}

using analytics_handler = task<response> (*)(analytics_context&, request&);

handler guarded(analytics_context& ctx, analytics_handler h) {
  return [&ctx, h](request& req) -> task<response> {
    if (!token_ok(ctx, req)) {
      auto r = detail(401, "Not authenticated");
      r.header("WWW-Authenticate", "Bearer");
      co_return r;
    }
    co_return co_await h(ctx, req);
  };
}

}  // namespace

void add_analytics_routes(router& r, analytics_context& ctx) {
  auto files = std::make_shared<static_files>();
  if (const auto& root_dir = ctx.info.share_dir; !root_dir.empty()) {
    files->load(root_dir + "/analytics-openapi.json", "openapi.json", "no-cache");
    files->load(root_dir + "/docs/swagger.html", "swagger.html", "no-cache");
    files->load_dir(root_dir + "/docs", "docs/", "public, max-age=86400");
    files->load(root_dir + "/dashboard/index.html", "dashboard", "no-cache");
    files->load_dir(root_dir + "/dashboard", "dashboard/", "public, max-age=300");
  }
  r.add("GET", "/", [&ctx](request&) { return root(ctx); });
  r.add("GET", "/health", [&ctx](request&) { return health(ctx); });
  r.add("GET", "/metrics", [](request&) -> task<response> { co_return prometheus_metrics(); });
  r.add("GET", "/openapi.json", serve(files, "openapi.json"));
  r.add("GET", "/docs", serve(files, "swagger.html"));
  r.add("GET", "/docs/assets/{name}", serve(files, "docs/", "name"));
  r.add("GET", "/dashboard", serve(files, "dashboard"));
  r.add("GET", "/dashboard/assets/{name}", serve(files, "dashboard/", "name"));
  r.add("GET", "/metrics/messages", guarded(ctx, messages));
  r.add("GET", "/metrics/presence", guarded(ctx, presence));
  r.add("GET", "/metrics/channels/top/active", guarded(ctx, top_channels));
  r.add("GET", "/metrics/users/top/active", guarded(ctx, top_users));
  r.add("GET", "/metrics/channels/{channel_id}", guarded(ctx, channel));
  r.add("GET", "/metrics/users/{user_id}", guarded(ctx, user));
  r.add("GET", "/metrics/system/stats", guarded(ctx, stats));
  r.add("GET", "/metrics/system/timeseries", guarded(ctx, timeseries));
}

}  // namespace sl::http
