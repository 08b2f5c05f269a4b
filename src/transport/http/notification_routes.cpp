// Notifications (docs/notifications.md): the in-app list, preferences,
// per-channel mute, webhooks and direct conversations.

#include <boost/url/parse.hpp>

#include "base/random.hpp"
#include "domain/texts.hpp"
#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"
#include "transport/http/shapes.hpp"

namespace sl::http {
namespace {

using domain::field_reader;
namespace notify = domain::notify;

constexpr std::size_t max_webhook_url = 2048;
constexpr std::int64_t max_webhooks_per_user = 10;

task<response> list_notifications(api_context& ctx, request& req, const domain::principal& p) {
  auto pg = paging(req, 50, 100);
  if (!pg) co_return from_error(pg.err());
  auto page = co_await ctx.db.notifications().list_notifications(p.id, pg->skip, pg->limit);
  boost::json::array items;
  for (const auto& n : page.items) items.push_back(notify::to_json(n));
  co_return json(200, boost::json::object{{"items", std::move(items)}, {"unread_count", page.unread_count}});
}

task<response> read_notification(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<notification_id>(req, "notification_id");
  if (!id) co_return from_error(id.err());
  auto n = co_await ctx.db.notifications().mark_notification_read(p.id, *id, system_clock{}.now());
  if (!n) co_return detail(404, domain::text::notification_not_found);
  co_return json(200, notify::to_json(*n));
}

task<response> read_all(api_context& ctx, request& req, const domain::principal& p) {
  const auto n = co_await ctx.db.notifications().mark_all_notifications_read(p.id, system_clock{}.now());
  co_return json(200, boost::json::object{{"updated", n}});
}

task<response> get_preferences(api_context& ctx, request& req, const domain::principal& p) {
  auto prefs = co_await ctx.db.notifications().preferences_of(p.id);
  if (!prefs) co_return detail(404, domain::text::user_not_found);
  co_return json(200, notify::to_json(*prefs));
}

task<response> put_preferences(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  notify::preferences_update u;
  u.email = f.optional_bool("email_notifications");
  u.push = f.optional_bool("push_notifications");
  u.mention = f.optional_bool("mention_notifications");
  u.dm = f.optional_bool("dm_notifications");
  if (!f.ok()) co_return validation_failed(f.errors());
  u.now = system_clock{}.now();
  auto prefs = co_await ctx.db.notifications().update_preferences(p.id, u);
  if (!prefs) co_return detail(404, domain::text::user_not_found);
  co_return json(200, notify::to_json(*prefs));
}

task<response> mute_channel(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto muted = f.optional_bool("muted");
  if (f.ok() && !muted) f.add("missing", "muted", "Field required", nullptr);
  if (!f.ok()) co_return validation_failed(f.errors());
  auto done = co_await ctx.channels.set_muted(p, *id, *muted);
  if (!done) co_return from_error(done.err());
  co_return json(200, boost::json::object{{"channel_id", id->str()}, {"muted", *muted}});
}

task<response> open_direct(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto other = f.required_uuid("user_id");
  if (!f.ok()) co_return validation_failed(f.errors());
  bool created = false;
  auto c = co_await ctx.channels.open_direct(p, user_id{*other}, created);
  if (!c) co_return from_error(c.err());
  co_return json(created ? 201 : 200, shapes::channel(*c));
}

// An absolute http(s) URL with a host, without credentials or spaces.
bool valid_webhook_url(std::string_view s) {
  if (s.empty() || s.size() > max_webhook_url) return false;
  auto u = boost::urls::parse_absolute_uri(s);
  if (!u) return false;
  const auto scheme = u->scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) return false;
  return !u->encoded_host().empty() && !u->has_userinfo();
}

boost::json::object webhook_json(const notify::webhook& w, bool with_secret) {
  boost::json::object o{{"id", w.id.str()}, {"url", w.url}};
  if (with_secret) o["secret"] = w.secret;
  o["created_at"] = format_iso(w.created_at);
  return o;
}

task<response> create_webhook(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto url = f.required_string("url", 1, max_webhook_url);
  if (url && !valid_webhook_url(*url))
    f.add("url_parsing", "url", "Input should be a valid absolute http or https URL with a host",
          body->if_contains("url"));
  if (!f.ok()) co_return validation_failed(f.errors());
  auto& store = ctx.db.notifications();
  if (co_await store.count_webhooks(p.id) >= max_webhooks_per_user) co_return detail(400, domain::text::webhook_limit);
  auto w = co_await store.create_webhook(
      notify::webhook{webhook_id::generate(), p.id, std::move(*url), random_hex(32), system_clock{}.now()});
  co_return json(201, webhook_json(w, true));
}

task<response> list_webhooks(api_context& ctx, request& req, const domain::principal& p) {
  boost::json::array out;
  for (const auto& w : co_await ctx.db.notifications().list_webhooks(p.id)) out.push_back(webhook_json(w, false));
  co_return json(200, out);
}

task<response> delete_webhook(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<webhook_id>(req, "webhook_id");
  if (!id) co_return from_error(id.err());
  if (!co_await ctx.db.notifications().delete_webhook(p.id, *id))
    co_return detail(404, domain::text::webhook_not_found);
  co_return no_content();
}

}  // namespace

void add_notification_routes(router& r, api_context& ctx) {
  add_authed(r, ctx, "GET", "/api/v1/notifications/", list_notifications);
  add_authed(r, ctx, "POST", "/api/v1/notifications/read-all", read_all);
  add_authed(r, ctx, "POST", "/api/v1/notifications/{notification_id}/read", read_notification);
  add_authed(r, ctx, "GET", "/api/v1/users/me/notification-preferences", get_preferences);
  add_authed(r, ctx, "PUT", "/api/v1/users/me/notification-preferences", put_preferences);
  add_authed(r, ctx, "POST", "/api/v1/users/me/webhooks/", create_webhook);
  add_authed(r, ctx, "GET", "/api/v1/users/me/webhooks/", list_webhooks);
  add_authed(r, ctx, "DELETE", "/api/v1/users/me/webhooks/{webhook_id}", delete_webhook);
  add_authed(r, ctx, "PUT", "/api/v1/channels/{channel_id}/mute", mute_channel);
  add_authed(r, ctx, "POST", "/api/v1/dms/", open_direct);
}

}  // namespace sl::http
