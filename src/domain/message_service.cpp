#include "domain/message_service.hpp"

#include <algorithm>

#include "domain/events.hpp"
#include "domain/permissions.hpp"
#include "domain/texts.hpp"

namespace sl::domain {

task<result<created_message>> message_service::send(const principal& p, message_draft d) {
  // Membership, channel and parent are checked by the store inside the write
  // (one round trip per send); the rate limit comes first and costs nothing.
  if (!limiter_.try_acquire(p.id, clock_.now())) co_return fail(error_kind::rate_limited, text::rate_limited);
  auto mentioned = co_await resolve_mentions(d.content);
  new_message m{message_id::generate(),
                d.channel,
                p.id,
                std::move(d.content),
                d.type,
                std::move(d.metadata),
                d.parent,
                std::move(d.client_msg_id),
                std::move(mentioned),
                clock_.now()};
  auto created = co_await db_.create_message(std::move(m));
  if (created && !created->duplicate) live_.message_changed(message_change::created, created->msg, p.username, p.id);
  co_return created;
}

task<std::vector<user_id>> message_service::resolve_mentions(std::string_view content) {
  std::vector<std::string> names;
  for (auto& n : events::mentions(content))
    if (!events::is_broadcast_mention(n)) names.push_back(std::move(n));
  std::vector<user_id> ids;
  if (names.empty()) co_return ids;
  // Unknown names are plain text (an e-mail address, a typo): no error.
  for (const auto& u : co_await db_.notifications().users_named(std::move(names))) ids.push_back(u.id);
  std::sort(ids.begin(), ids.end());
  co_return ids;
}

task<result<std::vector<message>>> message_service::history(const principal& p, channel_id c, history_query q) {
  auto ch = co_await db_.find_channel(c, p.id);
  if (!ch) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_read(ch->is_private, ch->viewer_role))
    co_return fail(error_kind::forbidden, text::private_channel);
  co_return co_await db_.list_messages(c, q);
}

task<result<message>> message_service::readable(const principal& p, message_id id) {
  auto m = co_await db_.find_message(id);
  if (!m || m->is_deleted) co_return fail(error_kind::not_found, text::message_not_found);
  auto ch = co_await db_.find_channel(m->channel, p.id);
  if (!ch) co_return fail(error_kind::not_found, text::message_not_found);
  if (!permissions::can_read(ch->is_private, ch->viewer_role))
    co_return fail(error_kind::forbidden, text::access_denied);
  co_return std::move(*m);
}

task<result<message>> message_service::get(const principal& p, message_id id) { co_return co_await readable(p, id); }

task<result<std::vector<message>>> message_service::replies(const principal& p, message_id id, page pg) {
  auto root = co_await readable(p, id);
  if (!root) co_return std::move(root).err();
  co_return co_await db_.list_replies(id, pg);
}

task<result<message>> message_service::edit(const principal& p, message_id id, std::string content) {
  auto m = co_await db_.find_message(id);
  if (!m || m->is_deleted) co_return fail(error_kind::not_found, text::message_not_found);
  if (!permissions::can_edit_message(m->author == p.id)) co_return fail(error_kind::forbidden, text::edit_denied);
  auto edited = co_await db_.edit_message(id, std::move(content), p.id, clock_.now());
  if (!edited) co_return fail(error_kind::not_found, text::message_not_found);
  live_.message_changed(message_change::updated, *edited, p.username, p.id);
  co_return std::move(*edited);
}

task<result<void>> message_service::remove(const principal& p, message_id id) {
  auto m = co_await db_.find_message(id);
  if (!m || m->is_deleted) co_return fail(error_kind::not_found, text::message_not_found);
  const bool author = m->author == p.id;
  std::optional<role> r;
  if (!author) r = co_await db_.member_role(m->channel, p.id);
  if (!permissions::can_delete_message(author, r)) co_return fail(error_kind::forbidden, text::delete_message_denied);
  if (!co_await db_.delete_message(id, p.id, clock_.now()))
    co_return fail(error_kind::not_found, text::message_not_found);
  m->is_deleted = true;
  m->updated_at = clock_.now();
  live_.message_changed(message_change::deleted, *m, m->author_profile ? m->author_profile->username : "", p.id);
  co_return result<void>{};
}

}  // namespace sl::domain
