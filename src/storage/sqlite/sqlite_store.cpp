#include "storage/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <climits>

#include "domain/events.hpp"
#include "domain/texts.hpp"
#include "storage/null_if_empty.hpp"
#include "storage/sqlite/executor.hpp"
#include "storage/sqlite/outbox_rows.hpp"
#include "storage/sqlite/rows.hpp"
#include "storage/sqlite/sqlite_analytics.hpp"
#include "storage/sqlite/sqlite_notifications.hpp"

namespace sl::storage::sqlite {
namespace {

using namespace domain;
using rows::micros;

std::optional<user> user_by_id(connection& c, const std::string& id) {
  auto st = c.prepare("SELECT " SL_USER_COLS " FROM users u WHERE u.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::user_at(st, 0);
}

std::optional<channel> channel_by_id(connection& c, const std::string& id, const std::string& viewer) {
  auto st = c.prepare("SELECT " SL_CHANNEL_COLS
                      " FROM channels c LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = ?"
                      " WHERE c.id = ?");
  st.bind_all(viewer, id);
  if (!st.step()) return std::nullopt;
  return rows::channel_at(st, 0);
}

std::optional<message> message_by_id(connection& c, const std::string& id) {
  auto st = c.prepare("SELECT " SL_MESSAGE_COLS ", " SL_USER_COLS
                      " FROM messages m LEFT JOIN users u ON u.id = m.user_id WHERE m.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return rows::message_at(st, 0);
}

std::optional<member> member_of(connection& c, const std::string& channel, const std::string& user) {
  auto st = c.prepare("SELECT " SL_MEMBER_COLS ", " SL_USER_COLS
                      " FROM channel_members cm JOIN users u ON u.id = cm.user_id"
                      " WHERE cm.channel_id = ? AND cm.user_id = ?");
  st.bind_all(channel, user);
  if (!st.step()) return std::nullopt;
  return rows::member_at(st, 0);
}

// Columns event_id, topic, event_key, event_type, payload, created_at,
// traceparent from `col`.
log_event log_event_at(const statement& st, int col) {
  log_event e;
  e.id = event_id{uuid::parse(st.text(col)).value_or(uuid{})};
  e.topic = st.text(col + 1);
  e.key = st.text(col + 2);
  e.event_type = st.text(col + 3);
  e.payload = st.text(col + 4);
  e.created_at = rows::time_at(st, col + 5);
  e.traceparent = st.opt_text(col + 6).value_or("");
  return e;
}

// ",a,b," for matching a topic with instr() in one bound parameter.
std::string topic_list(const std::vector<std::string>& topics) {
  std::string out = ",";
  for (const auto& t : topics) out += t + ",";
  return out;
}

// The messages.mentions column: a JSON array of user id strings.
std::string mention_list(const std::vector<user_id>& users) {
  boost::json::array a;
  for (const auto& u : users) a.emplace_back(u.str());
  return boost::json::serialize(a);
}

// `%` and `_` are matched literally: escaped for LIKE ... ESCAPE '\'.
std::string like_pattern(std::string_view q) {
  std::string out = "%";
  for (char ch : q) {
    if (ch == '%' || ch == '_' || ch == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  }
  out.push_back('%');
  return out;
}

class sqlite_store final : public store {
 public:
  explicit sqlite_store(const options& o) : exec_(o.path, o.readers) {}

  task<bool> ping() override {
    co_return co_await exec_.read([](connection& c) {
      auto st = c.prepare("SELECT 1");
      return st.step() && st.int64(0) == 1;
    });
  }

  analytics_store& analytics() override { return analytics_; }
  notification_store& notifications() override { return notifications_; }

  task<result<user>> create_user(new_user u) override {
    co_return co_await exec_.write([u = std::move(u)](connection& c) -> result<user> {
      {
        auto st = c.prepare("SELECT 1 FROM users WHERE username = ?");
        st.bind(1, u.username);
        if (st.step()) return fail(error_kind::bad_request, text::username_taken);
      }
      {
        auto st = c.prepare("SELECT 1 FROM users WHERE email = ? COLLATE NOCASE");
        st.bind(1, u.email);
        if (st.step()) return fail(error_kind::bad_request, text::email_taken);
      }
      const auto now = micros(u.now);
      c.prepare(
           "INSERT INTO users (id, username, email, hashed_password, full_name, created_at, updated_at)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(u.id.str(), u.username, u.email, u.hashed_password, u.full_name, now, now)
          .exec();
      c.prepare("INSERT INTO notification_preferences (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)")
          .bind_all(uuid::v7().str(), u.id.str(), now, now)
          .exec();
      auto created = user_by_id(c, u.id.str());
      insert_event(c, events::user_registered(*created, u.now));
      return *created;
    });
  }

  task<std::optional<user>> find_user(user_id id) override {
    co_return co_await exec_.read([id](connection& c) { return user_by_id(c, id.str()); });
  }

  task<std::optional<user>> find_user_by_username(std::string username) override {
    co_return co_await exec_.read([username = std::move(username)](connection& c) -> std::optional<user> {
      auto st = c.prepare("SELECT " SL_USER_COLS " FROM users u WHERE u.username = ?");
      st.bind(1, username);
      if (!st.step()) return std::nullopt;
      return rows::user_at(st, 0);
    });
  }

  task<std::optional<user_with_password>> find_login(std::string login) override {
    co_return co_await exec_.read([login = std::move(login)](connection& c) -> std::optional<user_with_password> {
      auto st = c.prepare("SELECT " SL_USER_COLS
                          ", u.hashed_password FROM users u"
                          " WHERE u.username = ?1 OR u.email = ?1 COLLATE NOCASE"
                          " ORDER BY u.username = ?1 DESC LIMIT 1");
      st.bind(1, login);
      if (!st.step()) return std::nullopt;
      return user_with_password{rows::user_at(st, 0), st.text(rows::user_cols)};
    });
  }

  task<std::vector<user>> search_users(std::string query, page p) override {
    co_return co_await exec_.read([query = std::move(query), p](connection& c) {
      auto st = c.prepare("SELECT " SL_USER_COLS
                          " FROM users u"
                          " WHERE lower(u.username) LIKE ?1 ESCAPE '\\' OR lower(u.email) LIKE ?1 ESCAPE '\\'"
                          " ORDER BY u.username LIMIT ?2 OFFSET ?3");
      st.bind_all(like_pattern(query), p.limit, p.skip);
      std::vector<user> out;
      while (st.step()) out.push_back(rows::user_at(st, 0));
      return out;
    });
  }

  task<std::optional<user>> update_profile(user_id id, profile_update u) override {
    co_return co_await exec_.write([id, u = std::move(u)](connection& c) -> std::optional<user> {
      auto st = c.prepare(
          "UPDATE users SET full_name = CASE WHEN ?1 THEN ?2 ELSE full_name END,"
          " avatar_url = CASE WHEN ?3 THEN ?4 ELSE avatar_url END, updated_at = ?5 WHERE id = ?6");
      st.bind(1, u.full_name.has_value());
      st.bind(2, u.full_name ? *u.full_name : std::nullopt);
      st.bind(3, u.avatar_url.has_value());
      st.bind(4, u.avatar_url ? *u.avatar_url : std::nullopt);
      st.bind(5, micros(u.now));
      st.bind(6, id.str());
      if (st.exec() == 0) return std::nullopt;
      return user_by_id(c, id.str());
    });
  }

  task<void> touch_last_seen(user_id id, timestamp at) override {
    co_await exec_.write([id, at](connection& c) {
      c.prepare("UPDATE users SET last_seen_at = ? WHERE id = ?").bind_all(micros(at), id.str()).exec();
    });
  }

  task<void> create_session(session s) override {
    co_await exec_.write([s = std::move(s)](connection& c) {
      c.prepare(
           "INSERT INTO user_sessions (id, user_id, token_jti, expires_at, created_at, user_agent, ip_address)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")
          .bind_all(uuid::v7().str(), s.user.str(), s.jti, micros(s.expires_at), micros(s.created_at), s.user_agent,
                    s.ip_address)
          .exec();
    });
  }

  task<bool> revoke_session(std::string jti, timestamp at) override {
    co_return co_await exec_.write([jti = std::move(jti), at](connection& c) {
      return c.prepare("UPDATE user_sessions SET is_revoked = 1, revoked_at = ? WHERE token_jti = ? AND is_revoked = 0")
                 .bind_all(micros(at), jti)
                 .exec() > 0;
    });
  }

  task<std::vector<revoked_session>> revoked_since(timestamp since) override {
    co_return co_await exec_.read([since](connection& c) {
      auto st = c.prepare("SELECT token_jti, revoked_at FROM user_sessions WHERE revoked_at >= ?");
      st.bind(1, micros(since));
      std::vector<revoked_session> out;
      while (st.step()) out.push_back(revoked_session{st.text(0), rows::time_at(st, 1)});
      return out;
    });
  }

  task<result<channel>> create_channel(new_channel ch) override {
    co_return co_await exec_.write([ch = std::move(ch)](connection& c) -> result<channel> {
      {
        auto st = c.prepare("SELECT 1 FROM channels WHERE name = ?");
        st.bind(1, ch.name);
        if (st.step()) return fail(error_kind::bad_request, text::channel_name_taken);
      }
      const auto now = micros(ch.now);
      c.prepare(
           "INSERT INTO channels (id, name, description, is_private, created_by, created_at, updated_at, member_count)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, 1)")
          .bind_all(ch.id.str(), ch.name, ch.description, ch.is_private, ch.creator.str(), now, now)
          .exec();
      c.prepare("INSERT INTO channel_members (id, channel_id, user_id, role, joined_at) VALUES (?, ?, ?, 'owner', ?)")
          .bind_all(ch.owner_membership.str(), ch.id.str(), ch.creator.str(), now)
          .exec();
      auto created = channel_by_id(c, ch.id.str(), ch.creator.str());
      insert_event(c, events::channel_event("channel.created", *created, ch.creator, ch.now));
      return *created;
    });
  }

  task<std::optional<channel>> find_channel(channel_id id, user_id viewer) override {
    co_return co_await exec_.read([id, viewer](connection& c) { return channel_by_id(c, id.str(), viewer.str()); });
  }

  task<std::vector<channel>> list_channels(user_id viewer, page p) override {
    co_return co_await exec_.read([viewer, p](connection& c) {
      auto st = c.prepare("SELECT " SL_CHANNEL_COLS
                          " FROM channels c LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = ?"
                          " WHERE c.is_private = 0 OR cm.id IS NOT NULL ORDER BY c.id LIMIT ? OFFSET ?");
      st.bind_all(viewer.str(), p.limit, p.skip);
      std::vector<channel> out;
      while (st.step()) out.push_back(rows::channel_at(st, 0));
      return out;
    });
  }

  task<result<channel>> update_channel(channel_id id, channel_update u) override {
    co_return co_await exec_.write([id, u = std::move(u)](connection& c) -> result<channel> {
      if (u.name) {
        auto st = c.prepare("SELECT 1 FROM channels WHERE name = ? AND id <> ?");
        st.bind_all(*u.name, id.str());
        if (st.step()) return fail(error_kind::bad_request, text::channel_name_taken);
      }
      auto st = c.prepare(
          "UPDATE channels SET name = COALESCE(?1, name),"
          " description = CASE WHEN ?2 THEN ?3 ELSE description END,"
          " is_private = COALESCE(?4, is_private), updated_at = ?5 WHERE id = ?6");
      st.bind(1, u.name);
      st.bind(2, u.description.has_value());
      st.bind(3, u.description ? *u.description : std::nullopt);
      st.bind(4, u.is_private);
      st.bind(5, micros(u.now));
      st.bind(6, id.str());
      if (st.exec() == 0) return fail(error_kind::not_found, text::channel_not_found);
      auto updated = channel_by_id(c, id.str(), u.actor.str());
      insert_event(c, events::channel_event("channel.updated", *updated, u.actor, u.now));
      return *updated;
    });
  }

  task<bool> delete_channel(channel_id id, user_id actor, timestamp at) override {
    co_return co_await exec_.write([id, actor, at](connection& c) {
      auto ch = channel_by_id(c, id.str(), actor.str());
      if (!ch) return false;
      c.prepare("DELETE FROM channels WHERE id = ?").bind(1, id.str()).exec();
      insert_event(c, events::channel_event("channel.deleted", *ch, actor, at));
      return true;
    });
  }

  task<std::optional<role>> member_role(channel_id ch, user_id u) override {
    co_return co_await exec_.read([ch, u](connection& c) -> std::optional<role> {
      auto st = c.prepare("SELECT role FROM channel_members WHERE channel_id = ? AND user_id = ?");
      st.bind_all(ch.str(), u.str());
      if (!st.step()) return std::nullopt;
      return parse_role(st.text(0));
    });
  }

  task<result<member>> add_member(new_member m) override {
    co_return co_await exec_.write([m = std::move(m)](connection& c) -> result<member> {
      if (member_of(c, m.channel.str(), m.user.str())) return fail(error_kind::bad_request, text::already_member);
      if (c.prepare("UPDATE channels SET member_count = member_count + 1 WHERE id = ?")
              .bind(1, m.channel.str())
              .exec() == 0)
        return fail(error_kind::not_found, text::channel_not_found);
      c.prepare("INSERT INTO channel_members (id, channel_id, user_id, role, joined_at) VALUES (?, ?, ?, ?, ?)")
          .bind_all(m.id.str(), m.channel.str(), m.user.str(), std::string(to_string(m.member_role)), micros(m.now))
          .exec();
      insert_event(c,
                   events::member_event("member.added", m.channel, m.user, to_string(m.member_role), m.actor, m.now));
      return *member_of(c, m.channel.str(), m.user.str());
    });
  }

  task<std::vector<member>> list_members(channel_id ch) override {
    co_return co_await exec_.read([ch](connection& c) {
      auto st = c.prepare("SELECT " SL_MEMBER_COLS ", " SL_USER_COLS
                          " FROM channel_members cm JOIN users u ON u.id = cm.user_id"
                          " WHERE cm.channel_id = ? ORDER BY cm.joined_at, cm.id");
      st.bind(1, ch.str());
      std::vector<member> out;
      while (st.step()) out.push_back(rows::member_at(st, 0));
      return out;
    });
  }

  task<bool> remove_member(channel_id ch, user_id u, user_id actor, timestamp at) override {
    co_return co_await exec_.write([ch, u, actor, at](connection& c) {
      auto existing = member_of(c, ch.str(), u.str());
      if (!existing) return false;
      c.prepare("DELETE FROM channel_members WHERE channel_id = ? AND user_id = ?").bind_all(ch.str(), u.str()).exec();
      c.prepare("UPDATE channels SET member_count = member_count - 1 WHERE id = ?").bind(1, ch.str()).exec();
      insert_event(c, events::member_event("member.removed", ch, u, to_string(existing->member_role), actor, at));
      return true;
    });
  }

  task<void> mark_read(channel_id ch, user_id u, std::int64_t seq) override {
    co_await exec_.write([ch, u, seq](connection& c) {
      c.prepare(
           "UPDATE channel_members SET last_read_seq ="
           " MAX(last_read_seq, MIN(?1, (SELECT last_seq FROM channels WHERE id = ?2)))"
           " WHERE channel_id = ?2 AND user_id = ?3")
          .bind_all(seq, ch.str(), u.str())
          .exec();
    });
  }

  task<result<created_message>> create_message(new_message m) override {
    co_return co_await exec_.write([m = std::move(m)](connection& c) -> result<created_message> {
      if (m.client_msg_id) {
        auto st = c.prepare("SELECT m.id FROM messages m WHERE m.user_id = ? AND m.client_msg_id = ?");
        st.bind_all(m.author.str(), *m.client_msg_id);
        if (st.step()) return created_message{*message_by_id(c, st.text(0)), true};
      }
      {
        auto st = c.prepare(
            "SELECT EXISTS (SELECT 1 FROM channels WHERE id = ?1),"
            " EXISTS (SELECT 1 FROM channel_members WHERE channel_id = ?1 AND user_id = ?2)");
        st.bind_all(m.channel.str(), m.author.str());
        st.step();
        if (!st.boolean(0)) return fail(error_kind::not_found, text::channel_not_found);
        if (!st.boolean(1)) return fail(error_kind::forbidden, text::send_denied);
      }
      if (m.parent) {
        auto st = c.prepare("SELECT 1 FROM messages WHERE id = ? AND channel_id = ? AND is_deleted = 0");
        st.bind_all(m.parent->str(), m.channel.str());
        if (!st.step()) return fail(error_kind::bad_request, text::parent_not_found);
      }
      auto bump = c.prepare(
          "UPDATE channels SET last_seq = last_seq + 1, message_count = message_count + 1 WHERE id = ? "
          "RETURNING last_seq");
      bump.bind(1, m.channel.str());
      bump.step();
      const auto seq = bump.int64(0);
      bump.exec();
      const auto now = micros(m.now);
      c.prepare(
           "INSERT INTO messages (id, channel_id, user_id, content, message_type, metadata, created_at, updated_at,"
           " seq, parent_id, client_msg_id, mentions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind_all(m.id.str(), m.channel.str(), m.author.str(), m.content, std::string(to_string(m.type)),
                    rows::metadata_text(m.metadata), now, now, seq,
                    m.parent ? std::optional<std::string>(m.parent->str()) : std::nullopt, m.client_msg_id,
                    mention_list(m.mentions))
          .exec();
      if (m.parent)
        c.prepare("UPDATE messages SET reply_count = reply_count + 1 WHERE id = ?").bind(1, m.parent->str()).exec();
      auto msg = as_created(m, seq);
      msg.author_profile = user_by_id(c, m.author.str());
      insert_event(c, events::message_event("message.created", msg, m.author, m.now));
      return created_message{std::move(msg), false};
    });
  }

  task<std::optional<message>> find_message(message_id id) override {
    co_return co_await exec_.read([id](connection& c) { return message_by_id(c, id.str()); });
  }

  task<std::vector<message>> list_messages(channel_id ch, history_query q) override {
    co_return co_await exec_.read([ch, q](connection& c) {
      const std::int64_t before = q.before_seq.value_or(INT64_MAX);
      std::vector<message> out;
      if (q.after_seq) {
        auto st = c.prepare("SELECT " SL_MESSAGE_COLS ", " SL_USER_COLS
                            " FROM messages m LEFT JOIN users u ON u.id = m.user_id"
                            " WHERE m.channel_id = ? AND m.is_deleted = 0 AND m.seq > ? AND m.seq < ?"
                            " ORDER BY m.seq ASC LIMIT ? OFFSET ?");
        st.bind_all(ch.str(), *q.after_seq, before, q.limit, q.skip);
        while (st.step()) out.push_back(rows::message_at(st, 0));
      } else {
        auto st = c.prepare("SELECT " SL_MESSAGE_COLS ", " SL_USER_COLS
                            " FROM messages m LEFT JOIN users u ON u.id = m.user_id"
                            " WHERE m.channel_id = ? AND m.is_deleted = 0 AND m.seq < ?"
                            " ORDER BY m.seq DESC LIMIT ? OFFSET ?");
        st.bind_all(ch.str(), before, q.limit, q.skip);
        while (st.step()) out.push_back(rows::message_at(st, 0));
        std::reverse(out.begin(), out.end());
      }
      return out;
    });
  }

  task<std::vector<message>> list_replies(message_id root, page p) override {
    co_return co_await exec_.read([root, p](connection& c) {
      auto st = c.prepare("SELECT " SL_MESSAGE_COLS ", " SL_USER_COLS
                          " FROM messages m LEFT JOIN users u ON u.id = m.user_id"
                          " WHERE m.parent_id = ? AND m.is_deleted = 0 ORDER BY m.seq LIMIT ? OFFSET ?");
      st.bind_all(root.str(), p.limit, p.skip);
      std::vector<message> out;
      while (st.step()) out.push_back(rows::message_at(st, 0));
      return out;
    });
  }

  task<std::optional<message>> edit_message(message_id id, std::string content, user_id actor, timestamp at) override {
    co_return co_await exec_.write([id, content = std::move(content), actor,
                                    at](connection& c) -> std::optional<message> {
      if (c.prepare("UPDATE messages SET content = ?, is_edited = 1, updated_at = ? WHERE id = ? AND is_deleted = 0")
              .bind_all(content, micros(at), id.str())
              .exec() == 0)
        return std::nullopt;
      auto m = message_by_id(c, id.str());
      insert_event(c, events::message_event("message.edited", *m, actor, at));
      return m;
    });
  }

  task<bool> delete_message(message_id id, user_id actor, timestamp at) override {
    co_return co_await exec_.write([id, actor, at](connection& c) {
      if (c.prepare("UPDATE messages SET is_deleted = 1, updated_at = ? WHERE id = ? AND is_deleted = 0")
              .bind_all(micros(at), id.str())
              .exec() == 0)
        return false;
      auto m = message_by_id(c, id.str());
      c.prepare("UPDATE channels SET message_count = message_count - 1 WHERE id = ?").bind(1, m->channel.str()).exec();
      if (m->parent)
        c.prepare("UPDATE messages SET reply_count = reply_count - 1 WHERE id = ?").bind(1, m->parent->str()).exec();
      insert_event(c, events::message_event("message.deleted", *m, actor, at));
      return true;
    });
  }

  // ---- outbox, database log, consumer groups (outbox_store.hpp) ----

  task<bool> hold_relay_lease(std::string holder, std::chrono::milliseconds ttl) override {
    const auto now = micros(system_clock{}.now());
    const auto until = now + ttl.count() * 1000;
    co_return co_await exec_.write([holder = std::move(holder), now, until](connection& c) {
      c.prepare(
           "INSERT INTO relay_lease (id, holder, expires_at) VALUES (1, ?, ?)"
           " ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
           " WHERE relay_lease.holder = excluded.holder OR relay_lease.expires_at < ?")
          .bind_all(holder, until, now)
          .exec();
      auto st = c.prepare("SELECT holder FROM relay_lease WHERE id = 1");
      return st.step() && st.text(0) == holder;
    });
  }

  task<void> release_relay_lease(std::string holder) override {
    co_await exec_.write([holder = std::move(holder)](connection& c) {
      c.prepare("DELETE FROM relay_lease WHERE id = 1 AND holder = ?").bind_all(holder).exec();
    });
  }

  task<std::vector<outbox_row>> unpublished_outbox(std::size_t limit) override {
    // One writer commits in id order: every unpublished row is safe to read.
    co_return co_await exec_.read([limit](connection& c) {
      auto st = c.prepare(
          "SELECT id, event_id, topic, event_key, event_type, payload, created_at, traceparent FROM outbox"
          " WHERE published_at IS NULL ORDER BY id LIMIT ?");
      st.bind(1, static_cast<std::int64_t>(limit));
      std::vector<outbox_row> out;
      while (st.step()) {
        outbox_row r;
        r.id = st.int64(0);
        r.event = log_event_at(st, 1);
        out.push_back(std::move(r));
      }
      return out;
    });
  }

  task<outbox_backlog> pending_outbox() override {
    co_return co_await exec_.read([](connection& c) {
      // The oldest row is the first by id: a second seek, not a scan. Counted
      // up to a million so a huge backlog costs a bounded scan.
      auto st = c.prepare(
          "SELECT count(*), (SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1)"
          " FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1000000)");
      st.step();
      outbox_backlog b;
      b.events = st.int64(0);
      if (!st.is_null(1)) b.oldest = rows::time_at(st, 1);
      return b;
    });
  }

  task<void> mark_published(std::vector<std::int64_t> ids, timestamp at) override {
    co_await exec_.write([ids = std::move(ids), at](connection& c) {
      // A bare max() over the partial index is one b-tree seek; wrapped in
      // coalesce() SQLite scanned the whole outbox on every batch.
      auto head = c.prepare("SELECT max(position) FROM outbox WHERE position IS NOT NULL");
      head.step();
      auto position = head.is_null(0) ? 0 : head.int64(0);
      for (const auto id : ids)
        c.prepare("UPDATE outbox SET published_at = ?, position = ? WHERE id = ? AND published_at IS NULL")
            .bind_all(micros(at), ++position, id)
            .exec();
    });
  }

  task<void> append_outbox(std::vector<log_event> events) override {
    co_await exec_.write([events = std::move(events)](connection& c) {
      for (const auto& e : events)
        c.prepare(
             "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at, traceparent)"
             " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (topic, event_id) DO NOTHING")
            .bind_all(e.id.str(), e.topic, e.key, e.event_type, e.payload, micros(e.created_at),
                      null_if_empty(e.traceparent))
            .exec();
    });
  }

  task<std::int64_t> prune_outbox(timestamp before) override {
    co_return co_await exec_.write([before](connection& c) -> std::int64_t {
      c.prepare("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < ?")
          .bind_all(micros(before))
          .exec();
      return c.changes();
    });
  }

  task<std::vector<log_event>> read_log(std::vector<std::string> topics, std::int64_t after,
                                        std::size_t limit) override {
    co_return co_await exec_.read([topics = topic_list(topics), after, limit](connection& c) {
      auto st = c.prepare(
          "SELECT position, event_id, topic, event_key, event_type, payload, created_at, traceparent FROM outbox"
          " WHERE position > ? AND instr(?, ',' || topic || ',') > 0 ORDER BY position LIMIT ?");
      st.bind_all(after, topics, static_cast<std::int64_t>(limit));
      std::vector<log_event> out;
      while (st.step()) {
        auto e = log_event_at(st, 1);
        e.offset = st.int64(0);
        out.push_back(std::move(e));
      }
      return out;
    });
  }

  task<std::int64_t> count_log(std::vector<std::string> topics, std::int64_t after) override {
    co_return co_await exec_.read([topics = topic_list(topics), after](connection& c) {
      auto st = c.prepare(
          "SELECT count(*) FROM outbox WHERE (position > ? OR published_at IS NULL)"
          " AND instr(?, ',' || topic || ',') > 0");
      st.bind_all(after, topics);
      st.step();
      return st.int64(0);
    });
  }

  task<std::int64_t> group_position(std::string group) override {
    co_return co_await exec_.read([group = std::move(group)](connection& c) -> std::int64_t {
      auto st = c.prepare("SELECT position FROM consumer_offsets WHERE group_name = ?");
      st.bind(1, group);
      return st.step() ? st.int64(0) : 0;
    });
  }

  task<void> commit_group_position(std::string group, std::int64_t position, timestamp at) override {
    co_await exec_.write([group = std::move(group), position, at](connection& c) {
      c.prepare(
           "INSERT INTO consumer_offsets (group_name, position, updated_at) VALUES (?, ?, ?)"
           " ON CONFLICT (group_name) DO UPDATE SET position = max(position, excluded.position),"
           " updated_at = excluded.updated_at")
          .bind_all(group, position, micros(at))
          .exec();
    });
  }

  task<std::vector<event_id>> processed_among(std::string group, std::vector<event_id> ids) override {
    co_return co_await exec_.read([group = std::move(group), ids = std::move(ids)](connection& c) {
      std::vector<event_id> out;
      for (const auto& id : ids) {
        auto st = c.prepare("SELECT 1 FROM consumer_events WHERE group_name = ? AND event_id = ?");
        st.bind_all(group, id.str());
        if (st.step()) out.push_back(id);
      }
      return out;
    });
  }

  task<void> record_processed(std::string group, std::vector<event_id> ids, timestamp at) override {
    co_await exec_.write([group = std::move(group), ids = std::move(ids), at](connection& c) {
      for (const auto& id : ids)
        c.prepare(
             "INSERT INTO consumer_events (group_name, event_id, processed_at) VALUES (?, ?, ?)"
             " ON CONFLICT DO NOTHING")
            .bind_all(group, id.str(), micros(at))
            .exec();
    });
  }

  task<std::int64_t> prune_processed(timestamp before) override {
    co_return co_await exec_.write([before](connection& c) -> std::int64_t {
      c.prepare("DELETE FROM consumer_events WHERE processed_at < ?").bind_all(micros(before)).exec();
      return c.changes();
    });
  }

 private:
  executor exec_;
  sqlite_analytics analytics_{exec_};
  sqlite_notifications notifications_{exec_};
};

}  // namespace

std::unique_ptr<store> open(const options& o) {
  migrate(o.path);
  return std::make_unique<sqlite_store>(o);
}

}  // namespace sl::storage::sqlite
