#include "domain/channel_service.hpp"

#include "domain/permissions.hpp"
#include "domain/texts.hpp"

namespace sl::domain {

task<result<channel>> channel_service::create(const principal& p, channel_draft d) {
  co_return co_await db_.create_channel(new_channel{channel_id::generate(), std::move(d.name), std::move(d.description),
                                                    d.is_private, p.id, member_id::generate(), clock_.now()});
}

task<std::vector<channel>> channel_service::list(const principal& p, page pg) {
  co_return co_await db_.list_channels(p.id, pg);
}

task<result<channel>> channel_service::get(const principal& p, channel_id id) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_read(c->is_private, c->viewer_role))
    co_return fail(error_kind::forbidden, text::private_channel);
  co_return std::move(*c);
}

task<result<channel>> channel_service::update(const principal& p, channel_id id, channel_update u) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_update_channel(c->viewer_role))
    co_return fail(error_kind::forbidden, text::update_channel_denied);
  u.actor = p.id;
  u.now = clock_.now();
  co_return co_await db_.update_channel(id, std::move(u));
}

task<result<void>> channel_service::remove(const principal& p, channel_id id) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_delete_channel(c->viewer_role))
    co_return fail(error_kind::forbidden, text::delete_channel_denied);
  if (!co_await db_.delete_channel(id, p.id, clock_.now()))
    co_return fail(error_kind::not_found, text::channel_not_found);
  live_.channel_deleted(id, p.id);
  co_return result<void>{};
}

task<result<member>> channel_service::add_member(const principal& p, channel_id id, user_id who, role r) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_add_members(c->viewer_role)) co_return fail(error_kind::forbidden, text::add_member_denied);
  if (!permissions::can_grant(c->viewer_role, r)) co_return fail(error_kind::forbidden, text::grant_admin_denied);
  if (!co_await db_.find_user(who)) co_return fail(error_kind::not_found, text::user_not_found);
  auto added = co_await db_.add_member(new_member{member_id::generate(), id, who, r, p.id, clock_.now()});
  if (added) live_.membership_started(id, who);
  co_return added;
}

task<result<member>> channel_service::join(const principal& p, channel_id id) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (c->is_private && !c->viewer_role) co_return fail(error_kind::forbidden, text::join_private);
  if (c->viewer_role) co_return fail(error_kind::bad_request, text::already_member);
  auto joined = co_await db_.add_member(new_member{member_id::generate(), id, p.id, role::member, p.id, clock_.now()});
  if (joined) live_.membership_started(id, p.id);
  co_return joined;
}

task<result<std::vector<member>>> channel_service::members(const principal& p, channel_id id) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!permissions::can_read(c->is_private, c->viewer_role)) co_return fail(error_kind::forbidden, text::access_denied);
  co_return co_await db_.list_members(id);
}

task<result<void>> channel_service::remove_member(const principal& p, channel_id id, user_id who) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  const bool self = who == p.id;
  if (!permissions::can_remove_member(c->viewer_role, self))
    co_return fail(error_kind::forbidden, text::permission_denied);
  const auto target = self ? c->viewer_role : co_await db_.member_role(id, who);
  if (!target) co_return fail(error_kind::not_found, text::not_a_member);
  if (*target == role::owner) co_return fail(error_kind::bad_request, text::remove_owner);
  if (!co_await db_.remove_member(id, who, p.id, clock_.now()))
    co_return fail(error_kind::not_found, text::not_a_member);
  // A public channel stays readable by everyone: only private ones end subscriptions.
  if (c->is_private) live_.membership_ended(id, who);
  co_return result<void>{};
}

task<result<void>> channel_service::mark_read(const principal& p, channel_id id, std::int64_t seq) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!c->viewer_role) co_return fail(error_kind::forbidden, text::read_denied);
  co_await db_.mark_read(id, p.id, seq);
  co_return result<void>{};
}

task<result<channel>> channel_service::open_direct(const principal& p, user_id other, bool& created) {
  created = false;
  if (other == p.id) co_return fail(error_kind::bad_request, text::direct_to_self);
  auto u = co_await db_.find_user(other);
  if (!u || !u->is_active) co_return fail(error_kind::not_found, text::user_not_found);
  // The name only has to be unique and unguessable: the pair finds the channel.
  const auto id = channel_id::generate();
  auto c = co_await db_.notifications().open_direct(
      new_direct{id, "dm-" + id.str(), p.id, other, member_id::generate(), member_id::generate(), clock_.now()});
  created = c.id == id;
  if (c.viewer_role) co_return c;
  // The caller left it once: opening it again brings them back.
  auto joined =
      co_await db_.add_member(new_member{member_id::generate(), c.id, p.id, role::member, p.id, clock_.now()});
  if (!joined && joined.err().kind != error_kind::bad_request) co_return std::move(joined).err();
  auto again = co_await db_.find_channel(c.id, p.id);
  if (!again) co_return fail(error_kind::not_found, text::channel_not_found);
  co_return std::move(*again);
}

task<result<void>> channel_service::set_muted(const principal& p, channel_id id, bool muted) {
  auto c = co_await db_.find_channel(id, p.id);
  if (!c) co_return fail(error_kind::not_found, text::channel_not_found);
  if (!c->viewer_role || !co_await db_.notifications().set_muted(id, p.id, muted))
    co_return fail(error_kind::forbidden, text::read_denied);
  co_return result<void>{};
}

}  // namespace sl::domain
