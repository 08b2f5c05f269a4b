#include "storage/sqlite/sqlite_notifications.hpp"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <climits>

#include "storage/sqlite/executor.hpp"
#include "storage/sqlite/outbox_rows.hpp"
#include "storage/sqlite/rows.hpp"

namespace sl::storage::sqlite {
namespace {

using namespace domain;
using rows::micros;

constexpr std::size_t max_error_bytes = 1000;

#define SL_NOTIFICATION_COLS                                                                                    \
  "n.id, n.user_id, n.type, n.channel_id, n.message_id, n.actor_id, n.text, n.count, n.is_read, n.created_at, " \
  "n.updated_at"
constexpr int notification_cols = 11;

// A LEFT JOINed notification_preferences row `p` of user `u`; when it is
// missing, the defaults (all on) timed at the user's creation.
#define SL_PREFERENCE_COLS                                                                                        \
  "coalesce(p.email_notifications, 1), coalesce(p.push_notifications, 1), "                                       \
  "coalesce(p.mention_notifications, 1), coalesce(p.dm_notifications, 1), coalesce(p.created_at, u.created_at), " \
  "coalesce(p.updated_at, u.created_at)"

template <typename Id>
Id id_at(const statement& s, int col) {
  return Id{uuid::parse(s.text(col)).value_or(uuid{})};
}

template <typename Id>
std::optional<Id> opt_id_at(const statement& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return Id::parse(s.text(col));
}

template <typename Id>
std::optional<std::string> text_or_null(const std::optional<Id>& v) {
  if (!v) return std::nullopt;
  return v->str();
}

// A JSON array of strings: one bound parameter that json_each() expands.
std::string json_strings(const std::vector<std::string>& values) {
  boost::json::array a;
  for (const auto& v : values) a.emplace_back(v);
  return boost::json::serialize(a);
}

template <typename Id>
std::string json_ids(const std::vector<Id>& ids) {
  std::vector<std::string> texts;
  texts.reserve(ids.size());
  for (const auto& id : ids) texts.push_back(id.str());
  return json_strings(texts);
}

// At most max_error_bytes, cut before a UTF-8 continuation byte so that the
// text stays valid (PostgreSQL stores the same errors).
std::string truncated(std::string error) {
  if (error.size() <= max_error_bytes) return error;
  std::size_t end = max_error_bytes;
  while (end > 0 && (static_cast<unsigned char>(error[end]) & 0xC0) == 0x80) --end;
  error.resize(end);
  return error;
}

notify::notification notification_at(const statement& s, int c) {
  notify::notification n;
  n.id = id_at<notification_id>(s, c);
  n.recipient = id_at<user_id>(s, c + 1);
  n.type = notify::parse_kind(s.text(c + 2)).value_or(notify::kind::mention);
  n.channel = id_at<channel_id>(s, c + 3);
  n.message = id_at<message_id>(s, c + 4);
  n.actor = opt_id_at<user_id>(s, c + 5);
  n.text = s.text(c + 6);
  n.count = s.int64(c + 7);
  n.is_read = s.boolean(c + 8);
  n.created_at = rows::time_at(s, c + 9);
  n.updated_at = rows::time_at(s, c + 10);
  return n;
}

std::optional<notify::notification> notification_by_id(connection& c, const std::string& id) {
  auto st = c.prepare("SELECT " SL_NOTIFICATION_COLS " FROM notifications n WHERE n.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return notification_at(st, 0);
}

notify::preferences preferences_at(const statement& s, int c) {
  notify::preferences p;
  p.email = s.boolean(c);
  p.push = s.boolean(c + 1);
  p.mention = s.boolean(c + 2);
  p.dm = s.boolean(c + 3);
  p.created_at = rows::time_at(s, c + 4);
  p.updated_at = rows::time_at(s, c + 5);
  return p;
}

std::optional<notify::preferences> preferences_by_user(connection& c, const std::string& u) {
  auto st = c.prepare("SELECT " SL_PREFERENCE_COLS
                      " FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = ?");
  st.bind(1, u);
  if (!st.step()) return std::nullopt;
  return preferences_at(st, 0);
}

channel channel_as_seen_by(connection& c, const std::string& id, const std::string& viewer) {
  auto st = c.prepare("SELECT " SL_CHANNEL_COLS
                      " FROM channels c LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = ?"
                      " WHERE c.id = ?");
  st.bind_all(viewer, id);
  if (!st.step()) throw sqlite_error(SQLITE_CORRUPT, "sqlite: direct channel " + id + " is missing");
  return rows::channel_at(st, 0);
}

void insert_member(connection& c, member_id id, channel_id ch, user_id u, std::int64_t now) {
  c.prepare("INSERT INTO channel_members (id, channel_id, user_id, role, joined_at) VALUES (?, ?, ?, ?, ?)")
      .bind_all(id.str(), ch.str(), u.str(), std::string(to_string(role::member)), now)
      .exec();
}

void insert_deliveries(connection& c, const notify::new_notification& n, std::int64_t due, std::int64_t now) {
  constexpr const char* insert =
      "INSERT INTO notification_deliveries (id, notification_id, channel, webhook_id, target, due_at, created_at,"
      " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
  if (n.webhooks) {
    struct hook {
      std::string id, url;
    };
    std::vector<hook> hooks;
    {
      auto st = c.prepare("SELECT id, url FROM webhooks WHERE user_id = ? AND is_active = 1 ORDER BY created_at, id");
      st.bind(1, n.recipient.str());
      while (st.step()) hooks.push_back(hook{st.text(0), st.text(1)});
    }
    for (const auto& h : hooks)
      c.prepare(insert)
          .bind_all(delivery_id::generate().str(), n.id.str(), notify::to_string(notify::delivery_channel::webhook),
                    h.id, h.url, due, now, now)
          .exec();
  }
  if (n.email) {
    std::string email;
    {
      auto st = c.prepare("SELECT email FROM users WHERE id = ?");
      st.bind(1, n.recipient.str());
      if (st.step()) email = st.text(0);
    }
    if (!email.empty())
      c.prepare(insert)
          .bind_all(delivery_id::generate().str(), n.id.str(), notify::to_string(notify::delivery_channel::email),
                    nullptr, email, due, now, now)
          .exec();
  }
}

// One decision of record_notifications, inside its transaction.
notify::recorded record_one(connection& c, const std::string& source, const notify::new_notification& n,
                            std::int64_t since, std::int64_t due, timestamp at) {
  const auto now = micros(at);
  const auto recipient = n.recipient.str();
  std::optional<std::string> earlier;
  {
    auto st = c.prepare("SELECT notification_id FROM notification_receipts WHERE event_id = ? AND user_id = ?");
    st.bind_all(source, recipient);
    if (st.step()) earlier = st.text(0);
  }
  if (earlier) {
    if (auto stored = notification_by_id(c, *earlier))
      return notify::recorded{std::move(*stored), notify::record_outcome::duplicate};
    // Gone since (its channel or recipient was deleted): its id with what
    // this event would have stored.
    notify::notification gone;
    gone.id = notification_id::parse(*earlier).value_or(notification_id{});
    gone.recipient = n.recipient;
    gone.type = n.type;
    gone.channel = n.channel;
    gone.message = n.message;
    gone.actor = n.actor;
    gone.text = n.text;
    gone.created_at = gone.updated_at = at;
    return notify::recorded{std::move(gone), notify::record_outcome::duplicate};
  }

  std::optional<std::string> candidate;
  {
    auto st = c.prepare(
        "SELECT id FROM notifications WHERE user_id = ? AND channel_id = ? AND is_read = 0 AND created_at >= ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1");
    st.bind_all(recipient, n.channel.str(), since);
    if (st.step()) candidate = st.text(0);
  }
  notify::recorded out;
  if (candidate) {
    c.prepare(
         "UPDATE notifications SET count = count + 1, message_id = ?, actor_id = ?, text = ?, updated_at = ?"
         " WHERE id = ?")
        .bind_all(n.message.str(), text_or_null(n.actor), n.text, now, *candidate)
        .exec();
    out = notify::recorded{*notification_by_id(c, *candidate), notify::record_outcome::folded};
  } else {
    c.prepare(
         "INSERT INTO notifications (id, user_id, type, channel_id, message_id, actor_id, text, created_at,"
         " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind_all(n.id.str(), recipient, notify::to_string(n.type), n.channel.str(), n.message.str(),
                  text_or_null(n.actor), n.text, now, now)
        .exec();
    insert_deliveries(c, n, due, now);
    out = notify::recorded{*notification_by_id(c, n.id.str()), notify::record_outcome::created};
    insert_event(c, events::notification_created(out.n, at));
  }
  c.prepare("INSERT INTO notification_receipts (event_id, user_id, notification_id, created_at) VALUES (?, ?, ?, ?)")
      .bind_all(source, recipient, out.n.id.str(), now)
      .exec();
  return out;
}

constexpr const char* select_claimable =
    "SELECT d.id, d.channel, d.target, coalesce(w.secret, ''), d.attempts, " SL_NOTIFICATION_COLS
    ", r.username, coalesce(a.username, ''), ch.name"
    " FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id"
    " JOIN users r ON r.id = n.user_id LEFT JOIN users a ON a.id = n.actor_id"
    " JOIN channels ch ON ch.id = n.channel_id LEFT JOIN webhooks w ON w.id = d.webhook_id"
    " WHERE d.status = 'pending' AND d.due_at <= ?1 AND (d.locked_until IS NULL OR d.locked_until <= ?1)"
    " ORDER BY d.due_at, d.id LIMIT ?2";

notify::delivery delivery_at(const statement& s) {
  notify::delivery d;
  d.id = id_at<delivery_id>(s, 0);
  d.channel = s.text(1) == notify::to_string(notify::delivery_channel::email) ? notify::delivery_channel::email
                                                                              : notify::delivery_channel::webhook;
  d.target = s.text(2);
  d.secret = s.text(3);
  d.attempts = static_cast<int>(s.int64(4));
  d.n = notification_at(s, 5);
  d.recipient_name = s.text(5 + notification_cols);
  d.actor_name = s.text(6 + notification_cols);
  d.channel_name = s.text(7 + notification_cols);
  return d;
}

}  // namespace

task<std::vector<user>> sqlite_notifications::users_named(std::vector<std::string> usernames) {
  co_return co_await exec_.read([names = json_strings(usernames)](connection& c) {
    auto st = c.prepare("SELECT " SL_USER_COLS
                        " FROM users u WHERE u.is_active = 1"
                        " AND lower(u.username) IN (SELECT lower(value) FROM json_each(?))");
    st.bind(1, names);
    std::vector<user> out;
    while (st.step()) out.push_back(rows::user_at(st, 0));
    return out;
  });
}

task<std::optional<notify::preferences>> sqlite_notifications::preferences_of(user_id u) {
  co_return co_await exec_.read([u](connection& c) { return preferences_by_user(c, u.str()); });
}

task<std::optional<notify::preferences>> sqlite_notifications::update_preferences(user_id u,
                                                                                  notify::preferences_update p) {
  co_return co_await exec_.write([u, p](connection& c) -> std::optional<notify::preferences> {
    {
      auto st = c.prepare("SELECT 1 FROM users WHERE id = ?");
      st.bind(1, u.str());
      if (!st.step()) return std::nullopt;
    }
    c.prepare(
         "INSERT INTO notification_preferences (id, user_id, email_notifications, push_notifications,"
         " mention_notifications, dm_notifications, created_at, updated_at)"
         " VALUES (?1, ?2, coalesce(?3, 1), coalesce(?4, 1), coalesce(?5, 1), coalesce(?6, 1), ?7, ?7)"
         " ON CONFLICT (user_id) DO UPDATE SET email_notifications = coalesce(?3, email_notifications),"
         " push_notifications = coalesce(?4, push_notifications),"
         " mention_notifications = coalesce(?5, mention_notifications),"
         " dm_notifications = coalesce(?6, dm_notifications), updated_at = ?7")
        .bind_all(uuid::v7().str(), u.str(), p.email, p.push, p.mention, p.dm, micros(p.now))
        .exec();
    return preferences_by_user(c, u.str());
  });
}

task<bool> sqlite_notifications::set_muted(channel_id ch, user_id u, bool muted) {
  co_return co_await exec_.write([ch, u, muted](connection& c) {
    return c.prepare("UPDATE channel_members SET muted = ? WHERE channel_id = ? AND user_id = ?")
               .bind_all(muted, ch.str(), u.str())
               .exec() > 0;
  });
}

task<std::optional<bool>> sqlite_notifications::muted(channel_id ch, user_id u) {
  co_return co_await exec_.read([ch, u](connection& c) -> std::optional<bool> {
    auto st = c.prepare("SELECT muted FROM channel_members WHERE channel_id = ? AND user_id = ?");
    st.bind_all(ch.str(), u.str());
    if (!st.step()) return std::nullopt;
    return st.boolean(0);
  });
}

task<channel> sqlite_notifications::open_direct(new_direct d) {
  co_return co_await exec_.write([d = std::move(d)](connection& c) {
    const auto a = d.a.str(), b = d.b.str();
    const auto& [low, high] = std::minmax(a, b);
    {
      // The single writer makes this lookup and the insert below one step:
      // two opens of the pair cannot both miss.
      auto st = c.prepare("SELECT channel_id FROM direct_channels WHERE user_low = ? AND user_high = ?");
      st.bind_all(low, high);
      if (st.step()) {
        const auto existing = st.text(0);
        return channel_as_seen_by(c, existing, a);
      }
    }
    const auto now = micros(d.now);
    c.prepare(
         "INSERT INTO channels (id, name, description, is_private, is_direct, created_by, created_at, updated_at,"
         " member_count) VALUES (?, ?, NULL, 1, 1, ?, ?, ?, 2)")
        .bind_all(d.id.str(), d.name, a, now, now)
        .exec();
    insert_member(c, d.a_membership, d.id, d.a, now);
    insert_member(c, d.b_membership, d.id, d.b, now);
    c.prepare("INSERT INTO direct_channels (user_low, user_high, channel_id, created_at) VALUES (?, ?, ?, ?)")
        .bind_all(low, high, d.id.str(), now)
        .exec();
    auto created = channel_as_seen_by(c, d.id.str(), a);
    const auto member = to_string(role::member);
    insert_event(c, events::channel_event("channel.created", created, d.a, d.now));
    insert_event(c, events::member_event("member.added", d.id, d.a, member, d.a, d.now));
    insert_event(c, events::member_event("member.added", d.id, d.b, member, d.a, d.now));
    return created;
  });
}

task<std::optional<notify::channel_info>> sqlite_notifications::channel_info(channel_id ch) {
  co_return co_await exec_.read([ch](connection& c) -> std::optional<notify::channel_info> {
    auto st = c.prepare("SELECT id, name, is_private, is_direct FROM channels WHERE id = ?");
    st.bind(1, ch.str());
    if (!st.step()) return std::nullopt;
    return notify::channel_info{id_at<channel_id>(st, 0), st.text(1), st.boolean(2), st.boolean(3)};
  });
}

task<std::vector<notify::audience_member>> sqlite_notifications::audience(channel_id ch,
                                                                          std::optional<std::vector<user_id>> only) {
  auto filter = only ? std::optional<std::string>(json_ids(*only)) : std::nullopt;
  co_return co_await exec_.read([ch, filter = std::move(filter)](connection& c) {
    auto st = c.prepare("SELECT cm.user_id, u.username, u.email, cm.role, cm.muted, " SL_PREFERENCE_COLS
                        " FROM channel_members cm JOIN users u ON u.id = cm.user_id"
                        " LEFT JOIN notification_preferences p ON p.user_id = cm.user_id"
                        " WHERE cm.channel_id = ?1 AND u.is_active = 1"
                        " AND (?2 IS NULL OR cm.user_id IN (SELECT value FROM json_each(?2)))"
                        " ORDER BY cm.user_id");
    st.bind_all(ch.str(), filter);
    std::vector<notify::audience_member> out;
    while (st.step()) {
      notify::audience_member m;
      m.user = id_at<user_id>(st, 0);
      m.username = st.text(1);
      m.email = st.text(2);
      m.member_role = parse_role(st.text(3)).value_or(role::member);
      m.muted = st.boolean(4);
      m.prefs = preferences_at(st, 5);
      out.push_back(std::move(m));
    }
    return out;
  });
}

task<std::vector<user_id>> sqlite_notifications::thread_participants(message_id root) {
  co_return co_await exec_.read([root](connection& c) {
    auto st =
        c.prepare("SELECT DISTINCT user_id FROM messages WHERE (id = ?1 OR parent_id = ?1) AND user_id IS NOT NULL");
    st.bind(1, root.str());
    std::vector<user_id> out;
    while (st.step()) out.push_back(id_at<user_id>(st, 0));
    return out;
  });
}

task<notify::webhook> sqlite_notifications::create_webhook(notify::webhook w) {
  co_return co_await exec_.write([w = std::move(w)](connection& c) {
    c.prepare("INSERT INTO webhooks (id, user_id, url, secret, created_at) VALUES (?, ?, ?, ?, ?)")
        .bind_all(w.id.str(), w.owner.str(), w.url, w.secret, micros(w.created_at))
        .exec();
    return w;
  });
}

task<std::vector<notify::webhook>> sqlite_notifications::list_webhooks(user_id owner) {
  co_return co_await exec_.read([owner](connection& c) {
    auto st = c.prepare(
        "SELECT id, user_id, url, secret, created_at FROM webhooks WHERE user_id = ? ORDER BY created_at, id");
    st.bind(1, owner.str());
    std::vector<notify::webhook> out;
    while (st.step())
      out.push_back(notify::webhook{id_at<webhook_id>(st, 0), id_at<user_id>(st, 1), st.text(2), st.text(3),
                                    rows::time_at(st, 4)});
    return out;
  });
}

task<std::int64_t> sqlite_notifications::count_webhooks(user_id owner) {
  co_return co_await exec_.read([owner](connection& c) {
    auto st = c.prepare("SELECT count(*) FROM webhooks WHERE user_id = ?");
    st.bind(1, owner.str());
    st.step();
    return st.int64(0);
  });
}

task<bool> sqlite_notifications::delete_webhook(user_id owner, webhook_id id) {
  co_return co_await exec_.write([owner, id](connection& c) {
    return c.prepare("DELETE FROM webhooks WHERE id = ? AND user_id = ?").bind_all(id.str(), owner.str()).exec() > 0;
  });
}

task<std::vector<notify::recorded>> sqlite_notifications::record_notifications(
    event_id source, std::vector<notify::new_notification> ns, std::chrono::milliseconds coalesce_window,
    std::chrono::milliseconds delivery_delay, timestamp now) {
  const auto since = micros(now - coalesce_window);
  const auto due = micros(now + delivery_delay);
  co_return co_await exec_.write([source, ns = std::move(ns), since, due, now](connection& c) {
    std::vector<notify::recorded> out;
    out.reserve(ns.size());
    for (const auto& n : ns) out.push_back(record_one(c, source.str(), n, since, due, now));
    return out;
  });
}

task<notify::notification_page> sqlite_notifications::list_notifications(user_id u, std::int64_t skip,
                                                                         std::int64_t limit) {
  co_return co_await exec_.read([u, skip, limit](connection& c) {
    notify::notification_page page;
    // One snapshot for the items and the count.
    c.exec("BEGIN");
    try {
      auto st = c.prepare("SELECT " SL_NOTIFICATION_COLS
                          " FROM notifications n WHERE n.user_id = ?"
                          " ORDER BY n.created_at DESC, n.id DESC LIMIT ? OFFSET ?");
      st.bind_all(u.str(), std::max<std::int64_t>(0, limit), std::max<std::int64_t>(0, skip));
      while (st.step()) page.items.push_back(notification_at(st, 0));
      auto count = c.prepare("SELECT count(*) FROM notifications WHERE user_id = ? AND is_read = 0");
      count.bind(1, u.str());
      count.step();
      page.unread_count = count.int64(0);
    } catch (...) {
      c.exec("ROLLBACK");
      throw;
    }
    c.exec("COMMIT");
    return page;
  });
}

task<std::optional<notify::notification>> sqlite_notifications::mark_notification_read(user_id u, notification_id id,
                                                                                       timestamp now) {
  co_return co_await exec_.write([u, id, now](connection& c) -> std::optional<notify::notification> {
    if (c.prepare("UPDATE notifications SET is_read = 1, read_at = coalesce(read_at, ?) WHERE id = ? AND user_id = ?")
            .bind_all(micros(now), id.str(), u.str())
            .exec() == 0)
      return std::nullopt;
    return notification_by_id(c, id.str());
  });
}

task<std::int64_t> sqlite_notifications::mark_all_notifications_read(user_id u, timestamp now) {
  co_return co_await exec_.write([u, now](connection& c) -> std::int64_t {
    return c.prepare("UPDATE notifications SET is_read = 1, read_at = ? WHERE user_id = ? AND is_read = 0")
        .bind_all(micros(now), u.str())
        .exec();
  });
}

task<std::vector<notify::delivery>> sqlite_notifications::claim_deliveries(timestamp now, timestamp lease_until,
                                                                           std::size_t limit) {
  co_return co_await exec_.write(
      [now = micros(now), until = micros(lease_until),
       limit = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX))](connection& c) {
        std::vector<notify::delivery> out;
        {
          auto st = c.prepare(select_claimable);
          st.bind_all(now, limit);
          while (st.step()) out.push_back(delivery_at(st));
        }
        for (const auto& d : out)
          c.prepare("UPDATE notification_deliveries SET locked_until = ?, updated_at = ? WHERE id = ?")
              .bind_all(until, now, d.id.str())
              .exec();
        return out;
      });
}

task<void> sqlite_notifications::delivery_sent(delivery_id id, timestamp now) {
  co_await exec_.write([id, now](connection& c) {
    c.prepare(
         "UPDATE notification_deliveries SET status = 'sent', attempts = attempts + 1, locked_until = NULL,"
         " updated_at = ? WHERE id = ?")
        .bind_all(micros(now), id.str())
        .exec();
  });
}

task<void> sqlite_notifications::delivery_retry(delivery_id id, timestamp next, std::string error) {
  const auto now = micros(system_clock{}.now());
  co_await exec_.write([id, next = micros(next), error = truncated(std::move(error)), now](connection& c) {
    c.prepare(
         "UPDATE notification_deliveries SET attempts = attempts + 1, due_at = ?, locked_until = NULL,"
         " last_error = ?, updated_at = ? WHERE id = ?")
        .bind_all(next, error, now, id.str())
        .exec();
  });
}

task<void> sqlite_notifications::delivery_failed(delivery_id id, std::string error, timestamp now) {
  co_await exec_.write([id, error = truncated(std::move(error)), now = micros(now)](connection& c) {
    c.prepare(
         "UPDATE notification_deliveries SET status = 'failed', attempts = attempts + 1, locked_until = NULL,"
         " last_error = ?, updated_at = ? WHERE id = ?")
        .bind_all(error, now, id.str())
        .exec();
  });
}

task<std::int64_t> sqlite_notifications::pending_deliveries() {
  co_return co_await exec_.read([](connection& c) {
    auto st = c.prepare("SELECT count(*) FROM notification_deliveries WHERE status = 'pending'");
    st.step();
    return st.int64(0);
  });
}

}  // namespace sl::storage::sqlite
