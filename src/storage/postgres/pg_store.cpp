#include "storage/postgres/pg_store.hpp"

#include <algorithm>
#include <vector>

#include "base/log.hpp"
#include "domain/events.hpp"
#include "domain/texts.hpp"
#include "storage/null_if_empty.hpp"
#include "storage/postgres/detail/array_literal.hpp"
#include "storage/postgres/detail/rows.hpp"
#include "storage/postgres/detail/sql.hpp"
#include "storage/postgres/message_writer.hpp"
#include "storage/postgres/pg_analytics.hpp"
#include "storage/postgres/pg_migrator.hpp"
#include "storage/postgres/pg_notifications.hpp"
#include "storage/postgres/pg_pool.hpp"

namespace sl::storage::postgres {
namespace {

using namespace domain;
using detail::read_all;
using detail::row_cursor;
using duration = std::chrono::steady_clock::duration;

constexpr std::chrono::seconds migration_timeout{120};

// The outbox columns of a CTE statement (7 parameters, the traceparent NULL when empty).
void add_event(pg_statement& s, const events::record& e) {
  s.id(e.id).text(e.topic).text(e.key).text(e.event_type).text(e.payload).time(e.created_at);
  s.text_or_null(null_if_empty(e.traceparent));
}

pg_statement outbox_statement(const events::record& e) {
  pg_statement s(sql::insert_outbox, "insert_outbox");
  add_event(s, e);
  return s;
}

bool is_violation(const pg_result& r, std::string_view sqlstate, std::string_view constraint) {
  return !r.ok() && r.sqlstate() == sqlstate && r.constraint() == constraint;
}

std::int64_t non_negative(std::int64_t v) { return std::max<std::int64_t>(0, v); }

// Columns event_id, topic, event_key, event_type, payload, created_at.
log_event read_log_event(row_cursor& c) {
  log_event e;
  e.id = event_id{c.id()};
  e.topic = c.text();
  e.key = c.text();
  e.event_type = c.text();
  e.payload = c.text();
  e.created_at = c.time();
  e.traceparent = c.opt_text().value_or("");
  return e;
}

std::string text_array(const std::vector<std::string>& items) {
  detail::array_literal list;
  for (const auto& i : items) list.add(i);
  return list.str();
}

class pg_store final : public store {
 public:
  pg_store(std::shared_ptr<pg_pool> pool, const options& o)
      : pool_(std::move(pool)),
        writer_(message_writer::create(
            pool_, writer_options{o.max_batch, o.parallel_batches, o.query_timeout, 3 * o.query_timeout})),
        timeout_(o.query_timeout),
        analytics_(pool_, o.query_timeout),
        notifications_(pool_, o.query_timeout) {}

  task<bool> ping() override {
    try {
      auto conn = co_await pool_->checkout(std::chrono::seconds(2));
      auto r = co_await conn->exec(pg_statement(sql::ping), std::chrono::seconds(2));
      co_return r.ok();
    } catch (const std::exception& e) {
      log::warn("postgres ping failed", {{"error", e.what()}});
      co_return false;
    }
  }

  analytics_store& analytics() override { return analytics_; }
  notification_store& notifications() override { return notifications_; }

  task<result<user>> create_user(new_user u) override {
    user made;
    made.id = u.id;
    made.username = u.username;
    const auto ev = events::user_registered(made, u.now);
    pg_statement s(sql::create_user, "create_user");
    s.id(u.id).text(u.username).text(u.email).text(u.hashed_password).text_or_null(u.full_name).time(u.now);
    s.id(uuid::v7());
    add_event(s, ev);
    auto r = co_await query(s);
    if (is_violation(r, unique_violation, "users_username_key"))
      co_return fail(error_kind::bad_request, text::username_taken);
    if (is_violation(r, unique_violation, "ux_users_email")) co_return fail(error_kind::bad_request, text::email_taken);
    r.expect_ok("postgres: create_user");
    row_cursor c(r, 0);
    co_return detail::read_user(c);
  }

  task<std::optional<user>> find_user(user_id id) override {
    co_return first<user>(co_await query(pg_statement(sql::find_user, "find_user").id(id)), detail::read_user);
  }

  task<std::optional<user>> find_user_by_username(std::string username) override {
    co_return first<user>(
        co_await query(pg_statement(sql::find_user_by_username, "find_user_by_username").text(username)),
        detail::read_user);
  }

  task<std::optional<user_with_password>> find_login(std::string login) override {
    auto r = co_await query(pg_statement(sql::find_login, "find_login").text(login));
    co_return first<user_with_password>(r, [](row_cursor& c) {
      auto u = detail::read_user(c);
      return user_with_password{std::move(u), c.text()};
    });
  }

  task<std::vector<user>> search_users(std::string q, page p) override {
    pg_statement s(sql::search_users, "search_users");
    s.text(q).integer(non_negative(p.limit)).integer(non_negative(p.skip));
    co_return read_all<user>(checked(co_await query(s), "search_users"), detail::read_user);
  }

  task<std::optional<user>> update_profile(user_id id, profile_update u) override {
    pg_statement s(sql::update_profile, "update_profile");
    s.id(id).boolean(u.full_name.has_value()).text_or_null(u.full_name.value_or(std::nullopt));
    s.boolean(u.avatar_url.has_value()).text_or_null(u.avatar_url.value_or(std::nullopt)).time(u.now);
    co_return first<user>(co_await query(s), detail::read_user);
  }

  task<void> touch_last_seen(user_id id, timestamp at) override {
    checked(co_await query(pg_statement(sql::touch_last_seen, "touch_last_seen").id(id).time(at)), "touch_last_seen");
  }

  task<void> create_session(session x) override {
    pg_statement s(sql::create_session, "create_session");
    s.id(uuid::v7()).id(x.user).text(x.jti).time(x.expires_at).time(x.created_at).text(x.user_agent).text(x.ip_address);
    checked(co_await query(s), "create_session");
  }

  task<bool> revoke_session(std::string jti, timestamp at) override {
    auto r = co_await query(pg_statement(sql::revoke_session, "revoke_session").text(jti).time(at));
    co_return checked(r, "revoke_session").affected() > 0;
  }

  task<std::vector<revoked_session>> revoked_since(timestamp since) override {
    auto r = co_await query(pg_statement(sql::revoked_since, "revoked_since").time(since));
    co_return read_all<revoked_session>(checked(r, "revoked_since"), [](row_cursor& c) {
      auto jti = c.text();
      return revoked_session{std::move(jti), c.time()};
    });
  }

  task<result<channel>> create_channel(new_channel ch) override {
    channel made;
    made.id = ch.id;
    made.name = ch.name;
    made.is_private = ch.is_private;
    const auto ev = events::channel_event("channel.created", made, ch.creator, ch.now);
    pg_statement s(sql::create_channel, "create_channel");
    s.id(ch.id).text(ch.name).text_or_null(ch.description).boolean(ch.is_private).id(ch.creator).time(ch.now);
    s.id(ch.owner_membership);
    add_event(s, ev);
    auto r = co_await query(s);
    if (is_violation(r, unique_violation, "channels_name_key"))
      co_return fail(error_kind::bad_request, text::channel_name_taken);
    r.expect_ok("postgres: create_channel");
    row_cursor c(r, 0);
    co_return detail::read_channel(c);
  }

  task<std::optional<channel>> find_channel(channel_id id, user_id viewer) override {
    co_return first<channel>(co_await query(pg_statement(sql::find_channel, "find_channel").id(id).id(viewer)),
                             detail::read_channel);
  }

  task<std::vector<channel>> list_channels(user_id viewer, page p) override {
    pg_statement s(sql::list_channels, "list_channels");
    s.id(viewer).integer(non_negative(p.limit)).integer(non_negative(p.skip));
    co_return read_all<channel>(checked(co_await query(s), "list_channels"), detail::read_channel);
  }

  task<result<channel>> update_channel(channel_id id, channel_update u) override {
    pg_statement s(sql::update_channel, "update_channel");
    s.id(id).text_or_null(u.name).boolean(u.description.has_value()).text_or_null(u.description.value_or(std::nullopt));
    if (u.is_private)
      s.boolean(*u.is_private);
    else
      s.null();
    s.time(u.now).id(u.actor);
    auto conn = co_await pool_->checkout(timeout_);
    auto r = co_await begin_with(*conn, std::move(s));
    if (!r.ok() || r.rows() == 0) {
      co_await rollback(*conn);
      if (is_violation(r, unique_violation, "channels_name_key"))
        co_return fail(error_kind::bad_request, text::channel_name_taken);
      checked(r, "update_channel");
      co_return fail(error_kind::not_found, text::channel_not_found);
    }
    row_cursor c(r, 0);
    auto updated = detail::read_channel(c);
    co_await commit_with(*conn, outbox_statement(events::channel_event("channel.updated", updated, u.actor, u.now)));
    co_return updated;
  }

  task<bool> delete_channel(channel_id id, user_id actor, timestamp at) override {
    auto conn = co_await pool_->checkout(timeout_);
    auto r = co_await begin_with(*conn, pg_statement(sql::delete_channel, "delete_channel").id(id));
    if (!r.ok() || r.rows() == 0) {
      co_await rollback(*conn);
      checked(r, "delete_channel");
      co_return false;
    }
    row_cursor c(r, 0);
    channel gone;
    gone.id = channel_id{c.id()};
    gone.name = c.text();
    gone.is_private = c.boolean();
    co_await commit_with(*conn, outbox_statement(events::channel_event("channel.deleted", gone, actor, at)));
    co_return true;
  }

  task<std::optional<role>> member_role(channel_id ch, user_id u) override {
    auto r = co_await query(pg_statement(sql::member_role, "member_role").id(ch).id(u));
    if (checked(r, "member_role").rows() == 0) co_return std::nullopt;
    co_return parse_role(r.text(0, 0));
  }

  task<result<member>> add_member(new_member m) override {
    const auto role_text = to_string(m.member_role);
    pg_statement s(sql::add_member, "add_member");
    s.id(m.id).id(m.channel).id(m.user).text(role_text).time(m.now);
    add_event(s, events::member_event("member.added", m.channel, m.user, role_text, m.actor, m.now));
    auto r = co_await query(s);
    if (is_violation(r, foreign_key_violation, "channel_members_channel_id_fkey"))
      co_return fail(error_kind::not_found, text::channel_not_found);
    if (is_violation(r, foreign_key_violation, "channel_members_user_id_fkey"))
      co_return fail(error_kind::not_found, text::user_not_found);
    if (checked(r, "add_member").rows() == 0) co_return fail(error_kind::bad_request, text::already_member);
    row_cursor c(r, 0);
    co_return detail::read_member(c);
  }

  task<std::vector<member>> list_members(channel_id ch) override {
    auto r = co_await query(pg_statement(sql::list_members, "list_members").id(ch));
    co_return read_all<member>(checked(r, "list_members"), detail::read_member);
  }

  task<bool> remove_member(channel_id ch, user_id u, user_id actor, timestamp at) override {
    auto conn = co_await pool_->checkout(timeout_);
    auto r = co_await begin_with(*conn, pg_statement(sql::remove_member, "remove_member").id(ch).id(u));
    if (!r.ok() || r.rows() == 0) {
      co_await rollback(*conn);
      checked(r, "remove_member");
      co_return false;
    }
    const std::string role_text(r.text(0, 0));
    std::vector<pg_statement> rest;
    rest.push_back(std::move(pg_statement(sql::decrement_members, "decrement_members").id(ch)));
    rest.push_back(outbox_statement(events::member_event("member.removed", ch, u, role_text, actor, at)));
    rest.emplace_back(sql::commit);
    for (auto& x : co_await conn->exec(rest, timeout_)) x.expect_ok("postgres: remove_member");
    co_return true;
  }

  task<void> mark_read(channel_id ch, user_id u, std::int64_t seq) override {
    checked(co_await query(pg_statement(sql::mark_read, "mark_read").id(ch).id(u).integer(seq)), "mark_read");
  }

  task<result<created_message>> create_message(new_message m) override {
    co_return co_await writer_->submit(std::move(m));
  }

  task<std::optional<message>> find_message(message_id id) override {
    co_return first<message>(co_await query(pg_statement(sql::find_message, "find_message").id(id)),
                             detail::read_message);
  }

  task<std::vector<message>> list_messages(channel_id ch, history_query q) override {
    const auto limit = non_negative(q.limit);
    const auto skip = non_negative(q.skip);
    if (q.after_seq) {
      pg_statement s(sql::list_messages_after, "list_messages_after");
      s.id(ch).integer(*q.after_seq);
      if (q.before_seq)
        s.integer(*q.before_seq);
      else
        s.null();
      s.integer(limit).integer(skip);
      co_return read_all<message>(checked(co_await query(s), "list_messages"), detail::read_message);
    }
    pg_statement s(sql::list_messages_newest, "list_messages_newest");
    s.id(ch);
    if (q.before_seq)
      s.integer(*q.before_seq);
    else
      s.null();
    s.integer(limit).integer(skip);
    auto out = read_all<message>(checked(co_await query(s), "list_messages"), detail::read_message);
    std::reverse(out.begin(), out.end());
    co_return out;
  }

  task<std::vector<message>> list_replies(message_id root, page p) override {
    pg_statement s(sql::list_replies, "list_replies");
    s.id(root).integer(non_negative(p.limit)).integer(non_negative(p.skip));
    co_return read_all<message>(checked(co_await query(s), "list_replies"), detail::read_message);
  }

  task<std::optional<message>> edit_message(message_id id, std::string content, user_id actor, timestamp at) override {
    auto conn = co_await pool_->checkout(timeout_);
    auto r = co_await begin_with(*conn, pg_statement(sql::edit_message, "edit_message").id(id).text(content).time(at));
    if (!r.ok() || r.rows() == 0) {
      co_await rollback(*conn);
      checked(r, "edit_message");
      co_return std::nullopt;
    }
    row_cursor c(r, 0);
    auto m = detail::read_message(c);
    co_await commit_with(*conn, outbox_statement(events::message_event("message.edited", m, actor, at)));
    co_return m;
  }

  task<bool> delete_message(message_id id, user_id actor, timestamp at) override {
    auto conn = co_await pool_->checkout(timeout_);
    auto r = co_await begin_with(*conn, pg_statement(sql::delete_message, "delete_message").id(id).time(at));
    if (!r.ok() || r.rows() == 0) {
      co_await rollback(*conn);
      checked(r, "delete_message");
      co_return false;
    }
    row_cursor c(r, 0);
    const auto m = detail::read_message(c);
    co_await commit_with(*conn, outbox_statement(events::message_event("message.deleted", m, actor, at)));
    co_return true;
  }

  // ---- outbox, database log, consumer groups (outbox_store.hpp) ----

  task<bool> hold_relay_lease(std::string holder, std::chrono::milliseconds ttl) override {
    pg_statement s(sql::hold_relay_lease, "hold_relay_lease");
    s.text(holder).integer(ttl.count());
    co_return checked(co_await query(s), "hold_relay_lease").rows() > 0;
  }

  task<void> release_relay_lease(std::string holder) override {
    checked(co_await query(pg_statement(sql::release_relay_lease, "release_relay_lease").text(holder)),
            "release_relay_lease");
  }

  task<std::vector<outbox_row>> unpublished_outbox(std::size_t limit) override {
    pg_statement s(sql::unpublished_outbox, "unpublished_outbox");
    s.integer(static_cast<std::int64_t>(limit));
    co_return read_all<outbox_row>(checked(co_await query(s), "unpublished_outbox"), [](row_cursor& c) {
      outbox_row r;
      r.id = c.integer();
      r.event = read_log_event(c);
      return r;
    });
  }

  task<outbox_backlog> pending_outbox() override {
    auto r = co_await query(pg_statement(sql::pending_outbox, "pending_outbox"));
    checked(r, "pending_outbox");
    row_cursor c(r, 0);
    outbox_backlog b;
    b.events = c.integer();
    b.oldest = c.opt_time();
    co_return b;
  }

  task<void> mark_published(std::vector<std::int64_t> ids, timestamp at) override {
    detail::array_literal list;
    for (const auto id : ids) list.add(std::to_string(id));
    pg_statement s(sql::mark_published, "mark_published");
    s.text(list.str()).time(at);
    checked(co_await query(s), "mark_published");
  }

  task<void> append_outbox(std::vector<log_event> events) override {
    if (events.empty()) co_return;
    detail::array_literal ids, topics, keys, types, payloads, times, traces;
    for (const auto& e : events) {
      ids.add(e.id.str());
      topics.add(e.topic);
      keys.add(e.key);
      types.add(e.event_type);
      payloads.add(e.payload);
      times.add(format_iso(e.created_at));
      traces.add_or_null(null_if_empty(e.traceparent));
    }
    pg_statement s(sql::append_outbox, "append_outbox");
    s.text(ids.str()).text(topics.str()).text(keys.str()).text(types.str()).text(payloads.str()).text(times.str());
    s.text(traces.str());
    checked(co_await query(s), "append_outbox");
  }

  task<std::int64_t> prune_outbox(timestamp before) override {
    auto r = co_await query(pg_statement(sql::prune_outbox, "prune_outbox").time(before));
    co_return checked(r, "prune_outbox").affected();
  }

  task<std::vector<log_event>> read_log(std::vector<std::string> topics, std::int64_t after,
                                        std::size_t limit) override {
    pg_statement s(sql::read_log, "read_log");
    s.text(text_array(topics)).integer(after).integer(static_cast<std::int64_t>(limit));
    co_return read_all<log_event>(checked(co_await query(s), "read_log"), [](row_cursor& c) {
      const auto position = c.integer();
      auto e = read_log_event(c);
      e.offset = position;
      return e;
    });
  }

  task<std::int64_t> count_log(std::vector<std::string> topics, std::int64_t after) override {
    pg_statement s(sql::count_log, "count_log");
    s.text(text_array(topics)).integer(after);
    auto r = co_await query(s);
    checked(r, "count_log");
    row_cursor c(r, 0);
    co_return c.integer();
  }

  task<std::int64_t> group_position(std::string group) override {
    auto r = co_await query(pg_statement(sql::group_position, "group_position").text(group));
    checked(r, "group_position");
    if (r.rows() == 0) co_return 0;
    row_cursor c(r, 0);
    co_return c.integer();
  }

  task<void> commit_group_position(std::string group, std::int64_t position, timestamp at) override {
    pg_statement s(sql::commit_group_position, "commit_group_position");
    s.text(group).integer(position).time(at);
    checked(co_await query(s), "commit_group_position");
  }

  task<std::vector<event_id>> processed_among(std::string group, std::vector<event_id> ids) override {
    if (ids.empty()) co_return std::vector<event_id>{};
    detail::array_literal list;
    for (const auto& id : ids) list.add(id.str());
    pg_statement s(sql::processed_among, "processed_among");
    s.text(group).text(list.str());
    co_return read_all<event_id>(checked(co_await query(s), "processed_among"),
                                 [](row_cursor& c) { return event_id{c.id()}; });
  }

  task<void> record_processed(std::string group, std::vector<event_id> ids, timestamp at) override {
    if (ids.empty()) co_return;
    detail::array_literal list;
    for (const auto& id : ids) list.add(id.str());
    pg_statement s(sql::record_processed, "record_processed");
    s.text(group).text(list.str()).time(at);
    checked(co_await query(s), "record_processed");
  }

  task<std::int64_t> prune_processed(timestamp before) override {
    auto r = co_await query(pg_statement(sql::prune_processed, "prune_processed").time(before));
    co_return checked(r, "prune_processed").affected();
  }

 private:
  static const pg_result& checked(const pg_result& r, std::string_view what) {
    return r.expect_ok(std::string("postgres: ") + std::string(what));
  }

  template <typename T, typename Read>
  static std::optional<T> first(const pg_result& r, Read read) {
    if (checked(r, "query").rows() == 0) return std::nullopt;
    row_cursor c(r, 0);
    return read(c);
  }

  // One statement on a pooled connection (its own implicit transaction).
  task<pg_result> query(pg_statement s) {
    auto conn = co_await pool_->checkout(timeout_);
    co_return co_await conn->exec(s, timeout_);
  }

  // BEGIN and `s` in one round trip; the transaction stays open (or failed) on `conn`.
  task<pg_result> begin_with(pg_connection& conn, pg_statement s) {
    std::vector<pg_statement> batch;
    batch.emplace_back(sql::begin);
    batch.push_back(std::move(s));
    auto results = co_await conn.exec(batch, timeout_);
    results[0].expect_ok("postgres: begin");
    co_return std::move(results[1]);
  }

  // `s` and COMMIT in one round trip; throws unless both succeeded.
  task<void> commit_with(pg_connection& conn, pg_statement s) {
    std::vector<pg_statement> batch;
    batch.push_back(std::move(s));
    batch.emplace_back(sql::commit);
    for (auto& r : co_await conn.exec(batch, timeout_)) r.expect_ok("postgres: commit");
  }

  task<void> rollback(pg_connection& conn) {
    (co_await conn.exec(pg_statement(sql::rollback), timeout_)).expect_ok("postgres: rollback");
  }

  std::shared_ptr<pg_pool> pool_;
  std::shared_ptr<message_writer> writer_;
  duration timeout_;
  pg_analytics analytics_;
  pg_notifications notifications_;
};

task<void> apply_migrations(boost::asio::any_io_executor ex, std::string url,
                            std::chrono::milliseconds connect_timeout) {
  auto conn = co_await pg_connection::connect(std::move(ex), url, connect_timeout);
  co_await pg_migrator(migration_timeout).run(*conn);
}

}  // namespace

task<std::unique_ptr<store>> open(boost::asio::any_io_executor ex, options o) {
  co_await apply_migrations(ex, o.url, o.connect_timeout);
  auto pool = pg_pool::create(ex, pool_options{o.url, o.pool_size, o.connect_timeout});
  co_await pool->fill();
  co_return std::make_unique<pg_store>(std::move(pool), o);
}

task<void> migrate(boost::asio::any_io_executor ex, std::string url) {
  co_await apply_migrations(std::move(ex), url, options{}.connect_timeout);
}

}  // namespace sl::storage::postgres
