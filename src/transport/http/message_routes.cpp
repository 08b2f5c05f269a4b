// /api/v1/messages/...: send, history, threads, edit and delete.

#include "domain/message_input.hpp"
#include "transport/http/api.hpp"
#include "transport/http/replies.hpp"
#include "transport/http/request_io.hpp"
#include "transport/http/shapes.hpp"

namespace sl::http {
namespace {

using domain::field_reader;

boost::json::array message_list(const std::vector<domain::message>& list) {
  boost::json::array out;
  out.reserve(list.size());
  for (const auto& m : list) out.push_back(shapes::message(m));
  return out;
}

task<response> send_message(api_context& ctx, request& req, const domain::principal& p) {
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto d = domain::read_message_draft(f, *body);
  if (!d) co_return validation_failed(f.errors());
  auto sent = co_await ctx.messages.send(p, std::move(*d));
  if (!sent) {
    auto r = from_error(sent.err());
    if (r.status == 429) r.header("Retry-After", "1");
    co_return r;
  }
  co_return json(sent->duplicate ? 200 : 201, shapes::message(sent->msg));
}

task<response> history(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<channel_id>(req, "channel_id");
  if (!id) co_return from_error(id.err());
  std::vector<field_error> errors;
  const auto skip = query_int(req, "skip", 0, errors);
  const auto limit = query_int(req, "limit", 0, errors);
  const auto before = query_int(req, "before_seq", 0, errors);
  const auto after = query_int(req, "after_seq", 0, errors);
  if (!errors.empty()) co_return validation_failed(errors);
  domain::history_query q{skip.value_or(0), std::min<std::int64_t>(limit.value_or(50), 100), before, after};
  auto list = co_await ctx.messages.history(p, *id, q);
  if (!list) co_return from_error(list.err());
  co_return json(200, message_list(*list));
}

task<response> get_message(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<message_id>(req, "message_id");
  if (!id) co_return from_error(id.err());
  auto m = co_await ctx.messages.get(p, *id);
  if (!m) co_return from_error(m.err());
  co_return json(200, shapes::message(*m));
}

task<response> replies(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<message_id>(req, "message_id");
  if (!id) co_return from_error(id.err());
  auto pg = paging(req, 50, 100);
  if (!pg) co_return from_error(pg.err());
  auto list = co_await ctx.messages.replies(p, *id, *pg);
  if (!list) co_return from_error(list.err());
  co_return json(200, message_list(*list));
}

task<response> edit_message(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<message_id>(req, "message_id");
  if (!id) co_return from_error(id.err());
  auto body = json_body(req);
  if (!body) co_return from_error(body.err());
  field_reader f(*body, "body");
  auto content = domain::read_message_content(f, *body);
  if (!f.ok()) co_return validation_failed(f.errors());
  auto m = co_await ctx.messages.edit(p, *id, std::move(*content));
  if (!m) co_return from_error(m.err());
  co_return json(200, shapes::message(*m));
}

task<response> delete_message(api_context& ctx, request& req, const domain::principal& p) {
  auto id = path_id<message_id>(req, "message_id");
  if (!id) co_return from_error(id.err());
  auto done = co_await ctx.messages.remove(p, *id);
  if (!done) co_return from_error(done.err());
  co_return no_content();
}

}  // namespace

void add_message_routes(router& r, api_context& ctx) {
  add_authed(r, ctx, "POST", "/api/v1/messages/", send_message);
  add_authed(r, ctx, "GET", "/api/v1/messages/channels/{channel_id}", history);
  add_authed(r, ctx, "GET", "/api/v1/messages/{message_id}", get_message);
  add_authed(r, ctx, "GET", "/api/v1/messages/{message_id}/replies", replies);
  add_authed(r, ctx, "PUT", "/api/v1/messages/{message_id}", edit_message);
  add_authed(r, ctx, "DELETE", "/api/v1/messages/{message_id}", delete_message);
}

}  // namespace sl::http
