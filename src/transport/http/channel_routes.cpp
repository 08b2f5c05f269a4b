// /api/v1/channels/...: channels, members, join and read positions.

#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"
#include "transport/http/shapes.hpp"

namespace sl::http {
namespace {

using domain::field_reader;

task<response> create_channel(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto name = f.required_string("name", 2, 100);
  auto description = f.optional_string("description", 0, 1000);
  auto is_private = f.optional_bool("is_private");
  if (!f.ok()) co_return validation_failed(f.errors());
  auto c = co_await ctx.channels.create(
      p, domain::channel_draft{std::move(*name), description ? std::move(*description) : std::nullopt,
                               is_private.value_or(false)});
  if (!c) co_return from_error(c.err());
  co_return json(201, shapes::channel(*c));
}

task<response> list_channels(api_context& ctx, request& req, const domain::principal& p) {
  auto pg = paging(req, 50, 100);
  if (!pg) co_return from_error(pg.err());
  auto list = co_await ctx.channels.list(p, *pg);
  boost::json::array out;
  for (const auto& c : list) out.push_back(shapes::channel(c));
  co_return json(200, out);
}

task<response> get_channel(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto c = co_await ctx.channels.get(p, *id);
  if (!c) co_return from_error(c.err());
  co_return json(200, shapes::channel(*c));
}

task<response> update_channel(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  domain::channel_update u;
  if (auto name = f.optional_string("name", 2, 100)) {
    if (!*name)
      f.add("string_type", "name", "Input should be a valid string", body->if_contains("name"));
    else
      u.name = std::move(**name);
  }
  u.description = f.optional_string("description", 0, 1000);
  u.is_private = f.optional_bool("is_private");
  if (!f.ok()) co_return validation_failed(f.errors());
  auto c = co_await ctx.channels.update(p, *id, std::move(u));
  if (!c) co_return from_error(c.err());
  co_return json(200, shapes::channel(*c));
}

task<response> delete_channel(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto done = co_await ctx.channels.remove(p, *id);
  if (!done) co_return from_error(done.err());
  co_return no_content();
}

task<response> add_member(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto who = f.required_uuid("user_id");
  auto role = f.optional_enum("role", {"member", "admin"});
  if (!f.ok()) co_return validation_failed(f.errors());
  auto m = co_await ctx.channels.add_member(p, *id, user_id{*who},
                                            domain::parse_role(role.value_or("member")).value_or(domain::role::member));
  if (!m) co_return from_error(m.err());
  co_return json(201, shapes::member(*m));
}

task<response> list_members(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto list = co_await ctx.channels.members(p, *id);
  if (!list) co_return from_error(list.err());
  boost::json::array out;
  for (const auto& m : *list) out.push_back(shapes::member(m));
  co_return json(200, out);
}

task<response> remove_member(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto who = path_id<user_id>(req, "user_id");
  if (!who) co_return from_error(who.err());
  auto done = co_await ctx.channels.remove_member(p, *id, *who);
  if (!done) co_return from_error(done.err());
  co_return no_content();
}

task<response> join(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto m = co_await ctx.channels.join(p, *id);
  if (!m) co_return from_error(m.err());
  co_return json(201, shapes::member(*m));
}

task<response> mark_read(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  if (!body->contains("last_read_seq"))
    f.errors().push_back(field_error{"missing", {"body", "last_read_seq"}, "Field required", "null", {}});
  auto seq = f.optional_int("last_read_seq", 0);
  if (!f.ok()) co_return validation_failed(f.errors());
  auto done = co_await ctx.channels.mark_read(p, *id, seq.value_or(0));
  if (!done) co_return from_error(done.err());
  co_return no_content();
}

}  // namespace

void add_channel_routes(router& r, api_context& ctx) {
  add_authed(r, ctx, "POST", "/api/v1/channels/", create_channel);
  add_authed(r, ctx, "GET", "/api/v1/channels/", list_channels);
  add_authed(r, ctx, "GET", "/api/v1/channels/{channel_id}", get_channel);
  add_authed(r, ctx, "PUT", "/api/v1/channels/{channel_id}", update_channel);
  add_authed(r, ctx, "DELETE", "/api/v1/channels/{channel_id}", delete_channel);
  add_authed(r, ctx, "POST", "/api/v1/channels/{channel_id}/members", add_member);
  add_authed(r, ctx, "GET", "/api/v1/channels/{channel_id}/members", list_members);
  add_authed(r, ctx, "DELETE", "/api/v1/channels/{channel_id}/members/{user_id}", remove_member);
  add_authed(r, ctx, "POST", "/api/v1/channels/{channel_id}/join", join);
  add_authed(r, ctx, "PUT", "/api/v1/channels/{channel_id}/read", mark_read);
}

}  // namespace sl::http
