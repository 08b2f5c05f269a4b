// /api/v1/users/...: registration, login, logout, tickets, profiles, search.

#include "domain/texts.hpp"
#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"
#include "transport/http/shapes.hpp"

namespace sl::http {
namespace {

using domain::field_reader;

task<response> register_user(api_context& ctx, request& req) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto username = f.required_string("username", 3, 50);
  auto email = f.required_string("email", 0, 320);
  auto password = f.required_string("password", 8, 100);
  auto full_name = f.optional_string("full_name", 0, 255);
  if (email && !domain::is_valid_email(*email)) {
    f.add("value_error", "email", "value is not a valid email address: The email address is not valid.",
          body->if_contains("email"), "{\"reason\":\"The email address is not valid.\"}");
  }
  if (!f.ok()) co_return validation_failed(f.errors());
  auto u = co_await ctx.auth.register_user(domain::registration{
      std::move(*username), std::move(*email), std::move(*password), full_name ? std::move(*full_name) : std::nullopt});
  if (!u) co_return from_error(u.err());
  co_return json(201, shapes::user(*u));
}

task<response> login(api_context& ctx, request& req) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto username = f.required_string("username", 0, 320);
  auto password = f.required_string("password", 0, 1000);
  if (!f.ok()) co_return validation_failed(f.errors());
  auto t = co_await ctx.auth.login(std::move(*username), std::move(*password), req.client_address, req.user_agent);
  if (!t) {
    auto r = from_error(t.err());
    if (r.status == 429) r.header("Retry-After", "60");
    co_return r;
  }
  co_return json(200, boost::json::object{
                          {"access_token", t->access_token}, {"token_type", "bearer"}, {"expires_in", t->expires_in}});
}

task<response> logout(api_context& ctx, request& req, const domain::principal& p) {
  co_await ctx.auth.logout(p);
  co_return no_content();
}

task<response> ws_ticket(api_context& ctx, request& req, const domain::principal& p) {
  auto t = ctx.auth.issue_ticket(p);
  co_return json(201, boost::json::object{{"ticket", t.ticket}, {"expires_in", t.expires_in}});
}

task<response> me(api_context& ctx, request& req, const domain::principal& p) {
  auto u = co_await ctx.auth.current_user(p);
  if (!u) co_return from_error(u.err());
  co_return json(200, shapes::user(*u));
}

task<response> update_me(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  domain::profile_update u;
  u.full_name = f.optional_string("full_name", 0, 255);
  u.avatar_url = f.optional_string("avatar_url", 0, 500);
  if (!f.ok()) co_return validation_failed(f.errors());
  u.now = system_clock{}.now();
  auto updated = co_await ctx.db.update_profile(p.id, std::move(u));
  if (!updated) co_return detail(404, domain::text::user_not_found);
  ctx.auth.forget_user(p.id);
  co_return json(200, shapes::user(*updated));
}

task<response> get_user(api_context& ctx, request& req, const domain::principal& p) {
  auto u = co_await ctx.db.find_user_by_username(req.param("username"));
  if (!u) co_return detail(404, domain::text::user_not_found);
  co_return json(200, shapes::user(*u));
}

task<response> search_users(api_context& ctx, request& req, const domain::principal& p) {
  auto pg = paging(req, 20, 100);
  if (!pg) co_return from_error(pg.err());
  auto q = req.query_value("query");
  auto users = co_await ctx.db.search_users(q ? std::string(*q) : std::string(), *pg);
  boost::json::array out;
  for (const auto& u : users) out.push_back(shapes::user(u));
  co_return json(200, out);
}

}  // namespace

void add_user_routes(router& r, api_context& ctx) {
  r.add("POST", "/api/v1/users/register", [&ctx](request& q) { return register_user(ctx, q); });
  r.add("POST", "/api/v1/users/login", [&ctx](request& q) { return login(ctx, q); });
  add_authed(r, ctx, "POST", "/api/v1/users/logout", logout);
  add_authed(r, ctx, "POST", "/api/v1/users/ws-ticket", ws_ticket);
  add_authed(r, ctx, "GET", "/api/v1/users/me", me);
  add_authed(r, ctx, "PUT", "/api/v1/users/me", update_me);
  add_authed(r, ctx, "GET", "/api/v1/users/", search_users);
  add_authed(r, ctx, "GET", "/api/v1/users/{username}", get_user);
}

}  // namespace sl::http
