#include "storage/sqlite/sqlite_analytics.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <variant>

#include "storage/null_if_empty.hpp"
#include "storage/sqlite/executor.hpp"
#include "storage/sqlite/rows.hpp"

namespace sl::storage::sqlite {
namespace {

namespace analytics = domain::analytics;
using rows::micros;

// ---- facts ----

constexpr const char* insert_message_fact =
    "INSERT INTO analytics_message_facts"
    " (event_id, at, window_start, window_seconds, action, message_id, channel_id, user_id, message_type)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING";
constexpr const char* insert_presence_fact =
    "INSERT INTO analytics_presence_facts (event_id, at, window_start, window_seconds, action, user_id, node, sockets)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING";
constexpr const char* mark_pending =
    "INSERT INTO analytics_windows (window_start, window_seconds, pending) VALUES (?, ?, 1)"
    " ON CONFLICT (window_start, window_seconds) DO UPDATE SET pending = 1";
// As commit_group_position: never moves a group back.
constexpr const char* commit_position =
    "INSERT INTO consumer_offsets (group_name, position, updated_at) VALUES (?, ?, ?)"
    " ON CONFLICT (group_name) DO UPDATE SET position = max(position, excluded.position),"
    " updated_at = excluded.updated_at";

constexpr const char* select_pending =
    "SELECT window_start, window_seconds FROM analytics_windows"
    " WHERE pending = 1 AND window_start + window_seconds * 1000000 <= ?"
    " ORDER BY window_start, window_seconds LIMIT ?";

// ---- writing a window: ?1 window start, ?2 its seconds, ?3 now ----

constexpr const char* delete_message_metrics =
    "DELETE FROM message_metrics WHERE time_window = ?1 AND window_duration_seconds = ?2";
constexpr const char* delete_channel_metrics =
    "DELETE FROM channel_metrics WHERE time_window = ?1 AND window_duration_seconds = ?2";
constexpr const char* delete_user_metrics =
    "DELETE FROM user_metrics WHERE time_window = ?1 AND window_duration_seconds = ?2";
constexpr const char* delete_presence_metrics =
    "DELETE FROM presence_metrics WHERE time_window = ?1 AND window_duration_seconds = ?2";

#define SL_WINDOW_FACTS "WHERE window_start = ?1 AND window_seconds = ?2"
#define SL_CREATED "FILTER (WHERE action = 'created')"

// GROUP BY over the one window: no row when it has no message fact.
constexpr const char* insert_message_metrics =
    "INSERT INTO message_metrics (id, time_window, window_duration_seconds, message_count, messages_per_second,"
    " active_users_count, unique_senders_count, active_channels_count, text_messages_count, image_messages_count,"
    " file_messages_count, system_messages_count, created_at)"
    " SELECT sl_uuid_v7(), ?1, ?2, count(*) " SL_CREATED ", CAST(count(*) " SL_CREATED
    " AS REAL) / ?2,"
    " count(DISTINCT user_id), count(DISTINCT user_id) " SL_CREATED
    ", count(DISTINCT channel_id),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'text'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'image'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'file'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'system'), ?3"
    " FROM analytics_message_facts " SL_WINDOW_FACTS " GROUP BY window_start";

constexpr const char* insert_channel_metrics =
    "INSERT INTO channel_metrics (id, channel_id, time_window, window_duration_seconds, message_count,"
    " unique_senders_count, messages_per_second, created_count, edited_count, deleted_count, created_at)"
    " SELECT sl_uuid_v7(), channel_id, ?1, ?2, count(*) " SL_CREATED ", count(DISTINCT user_id) " SL_CREATED
    ", CAST(count(*) " SL_CREATED " AS REAL) / ?2, count(*) " SL_CREATED
    ","
    " count(*) FILTER (WHERE action = 'edited'), count(*) FILTER (WHERE action = 'deleted'), ?3"
    " FROM analytics_message_facts " SL_WINDOW_FACTS " GROUP BY channel_id";

constexpr const char* insert_user_metrics =
    "INSERT INTO user_metrics (id, user_id, time_window, window_duration_seconds, messages_sent, messages_edited,"
    " messages_deleted, channels_active, created_at)"
    " SELECT sl_uuid_v7(), user_id, ?1, ?2, count(*) " SL_CREATED
    ","
    " count(*) FILTER (WHERE action = 'edited'), count(*) FILTER (WHERE action = 'deleted'),"
    " count(DISTINCT channel_id) " SL_CREATED
    ", ?3"
    " FROM analytics_message_facts " SL_WINDOW_FACTS " AND user_id IS NOT NULL GROUP BY user_id";

// The latest online/offline action of user `u.user_id` among facts matching `cond`.
#define SL_LATEST_PRESENCE(cond)                                                           \
  "(SELECT p.action FROM analytics_presence_facts p WHERE p.user_id = u.user_id AND " cond \
  " AND p.action IN ('online', 'offline') ORDER BY p.at DESC, p.event_id DESC LIMIT 1)"

// users_online: online when the window began (carried over from any earlier
// fact) or coming online in it.
constexpr const char* insert_presence_metrics =
    "INSERT INTO presence_metrics (id, time_window, window_duration_seconds, users_online, users_connected,"
    " users_disconnected, sockets_peak, created_at)"
    " SELECT sl_uuid_v7(), ?1, ?2,"
    " (SELECT count(*) FROM ("
    "   SELECT user_id FROM analytics_presence_facts " SL_WINDOW_FACTS
    " AND action = 'online'"
    "   UNION"
    "   SELECT u.user_id FROM (SELECT DISTINCT user_id FROM analytics_presence_facts"
    "     WHERE user_id IS NOT NULL AND at < ?1) u"
    "   WHERE " SL_LATEST_PRESENCE("p.at < ?1") " = 'online')),"
    " count(DISTINCT user_id) FILTER (WHERE action = 'online'),"
    " count(DISTINCT user_id) FILTER (WHERE action = 'offline'),"
    " (SELECT coalesce(sum(peak), 0) FROM (SELECT max(sockets) AS peak FROM analytics_presence_facts "
    SL_WINDOW_FACTS " AND action = 'sockets' GROUP BY node)), ?3"
    " FROM analytics_presence_facts " SL_WINDOW_FACTS " GROUP BY window_start";

constexpr const char* mark_written =
    "INSERT INTO analytics_windows (window_start, window_seconds, pending, written_at) VALUES (?1, ?2, 0, ?3)"
    " ON CONFLICT (window_start, window_seconds) DO UPDATE SET pending = 0, written_at = excluded.written_at";

// ---- pruning: ?1 before ----

constexpr const char* prune_message_facts = "DELETE FROM analytics_message_facts WHERE window_start < ?1";
// Keeps each user's latest online/offline fact among those pruned: the
// presence that later windows carry over.
constexpr const char* prune_presence_facts =
    "DELETE FROM analytics_presence_facts WHERE window_start < ?1 AND NOT ("
    " user_id IS NOT NULL AND action IN ('online', 'offline') AND event_id = ("
    "  SELECT k.event_id FROM analytics_presence_facts k"
    "  WHERE k.user_id = analytics_presence_facts.user_id AND k.window_start < ?1"
    "  AND k.action IN ('online', 'offline') ORDER BY k.at DESC, k.event_id DESC LIMIT 1))";
constexpr const char* prune_windows = "DELETE FROM analytics_windows WHERE window_start < ?1";
constexpr const char* prune_message_metrics = "DELETE FROM message_metrics WHERE time_window < ?1";
constexpr const char* prune_channel_metrics = "DELETE FROM channel_metrics WHERE time_window < ?1";
constexpr const char* prune_user_metrics = "DELETE FROM user_metrics WHERE time_window < ?1";
constexpr const char* prune_presence_metrics = "DELETE FROM presence_metrics WHERE time_window < ?1";

// ---- queries ----

constexpr const char* select_message_metrics =
    "SELECT id, time_window, window_duration_seconds, message_count, messages_per_second,"
    " active_users_count, unique_senders_count, active_channels_count, text_messages_count, image_messages_count,"
    " file_messages_count, system_messages_count, created_at"
    " FROM message_metrics WHERE time_window >= ? ORDER BY time_window DESC, window_duration_seconds DESC LIMIT ?";
constexpr const char* select_channel_metrics =
    "SELECT id, channel_id, time_window, window_duration_seconds, message_count, unique_senders_count,"
    " messages_per_second, created_count, edited_count, deleted_count, created_at"
    " FROM channel_metrics WHERE channel_id = ? AND time_window >= ?"
    " ORDER BY time_window DESC, window_duration_seconds DESC";
constexpr const char* select_user_metrics =
    "SELECT id, user_id, time_window, window_duration_seconds, messages_sent, messages_edited, messages_deleted,"
    " channels_active, created_at"
    " FROM user_metrics WHERE user_id = ? AND time_window >= ? ORDER BY time_window DESC, window_duration_seconds DESC";
constexpr const char* select_presence_metrics =
    "SELECT id, time_window, window_duration_seconds, users_online, users_connected, users_disconnected,"
    " sockets_peak, created_at"
    " FROM presence_metrics WHERE time_window >= ? ORDER BY time_window DESC, window_duration_seconds DESC LIMIT ?";

// Message facts of the written windows starting at or after ?1.
#define SL_WRITTEN_FACTS                                                                        \
  " FROM analytics_message_facts f JOIN analytics_windows w ON w.window_start = f.window_start" \
  " AND w.window_seconds = f.window_seconds AND w.written_at IS NOT NULL WHERE f.window_start >= ?1"

constexpr const char* select_top_channels =
    "WITH senders AS (SELECT f.channel_id, count(DISTINCT f.user_id) AS n" SL_WRITTEN_FACTS
    " AND f.action = 'created' GROUP BY f.channel_id)"
    " SELECT m.channel_id, sum(m.message_count) AS created, sum(m.edited_count), sum(m.deleted_count),"
    " coalesce(s.n, 0), count(*), ch.name"
    " FROM channel_metrics m LEFT JOIN senders s ON s.channel_id = m.channel_id"
    " LEFT JOIN channels ch ON ch.id = m.channel_id"
    " WHERE m.time_window >= ?1 GROUP BY m.channel_id, s.n, ch.name ORDER BY created DESC, m.channel_id LIMIT ?2";
constexpr const char* select_top_users =
    "WITH channels AS (SELECT f.user_id, count(DISTINCT f.channel_id) AS n" SL_WRITTEN_FACTS
    " AND f.action = 'created' GROUP BY f.user_id)"
    " SELECT m.user_id, sum(m.messages_sent) AS sent, sum(m.messages_edited), sum(m.messages_deleted),"
    " coalesce(c.n, 0), count(*), u.username"
    " FROM user_metrics m LEFT JOIN channels c ON c.user_id = m.user_id LEFT JOIN users u ON u.id = m.user_id"
    " WHERE m.time_window >= ?1 GROUP BY m.user_id, c.n, u.username ORDER BY sent DESC, m.user_id LIMIT ?2";
constexpr const char* select_system_totals =
    "SELECT (SELECT coalesce(sum(message_count), 0) FROM message_metrics WHERE time_window >= ?1),"
    " (SELECT count(DISTINCT f.user_id)" SL_WRITTEN_FACTS
    "),"
    " (SELECT count(DISTINCT f.channel_id)" SL_WRITTEN_FACTS
    "),"
    " (SELECT channel_id FROM channel_metrics WHERE time_window >= ?1 GROUP BY channel_id"
    "  HAVING sum(message_count) > 0 ORDER BY sum(message_count) DESC, channel_id LIMIT 1),"
    " (SELECT user_id FROM user_metrics WHERE time_window >= ?1 GROUP BY user_id"
    "  HAVING sum(messages_sent) > 0 ORDER BY sum(messages_sent) DESC, user_id LIMIT 1)";
constexpr const char* select_users_online =
    "SELECT count(*) FROM (SELECT DISTINCT user_id FROM analytics_presence_facts WHERE user_id IS NOT NULL) u"
    " WHERE " SL_LATEST_PRESENCE("1") " = 'online'";

#undef SL_WINDOW_FACTS
#undef SL_CREATED
#undef SL_LATEST_PRESENCE
#undef SL_WRITTEN_FACTS

template <typename Id>
Id id_at(const statement& s, int col) {
  return Id{uuid::parse(s.text(col)).value_or(uuid{})};
}

template <typename Id>
std::optional<std::string> text_or_null(const std::optional<Id>& v) {
  if (!v) return std::nullopt;
  return v->str();
}

std::int64_t non_negative(std::int64_t v) { return std::max<std::int64_t>(0, v); }

// Inserts the fact unless its event is stored already; true when inserted.
bool insert_fact(connection& c, const analytics::fact& f, std::int64_t window_start, int window_seconds) {
  if (const auto* m = std::get_if<analytics::message_fact>(&f))
    return c.prepare(insert_message_fact)
               .bind_all(m->id.str(), micros(m->at), window_start, window_seconds, analytics::to_string(m->action),
                         m->message.str(), m->channel.str(), text_or_null(m->user), domain::to_string(m->type))
               .exec() > 0;
  const auto& p = std::get<analytics::presence_fact>(f);
  const auto node = null_if_empty(p.node);
  return c.prepare(insert_presence_fact)
             .bind_all(p.id.str(), micros(p.at), window_start, window_seconds, analytics::to_string(p.action),
                       text_or_null(p.user), node, p.sockets)
             .exec() > 0;
}

void new_uuid_v7(sqlite3_context* ctx, int, sqlite3_value**) {
  try {
    const auto id = uuid::v7().str();
    sqlite3_result_text(ctx, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  }
}

}  // namespace

task<std::int64_t> sqlite_analytics::record_facts(std::vector<analytics::fact> facts, int window_seconds,
                                                  std::optional<domain::group_position> position) {
  if (window_seconds <= 0) throw std::invalid_argument("record_facts: window_seconds must be positive");
  const auto now = micros(system_clock{}.now());
  co_return co_await exec_.write(
      [facts = std::move(facts), window_seconds, position = std::move(position), now](connection& c) {
        std::int64_t added = 0;
        std::set<std::int64_t> windows;  // starts of the windows that gained a fact
        for (const auto& f : facts) {
          const auto at = std::visit([](const auto& x) { return x.at; }, f);
          const auto start = micros(analytics::window_of(at, window_seconds).start);
          if (insert_fact(c, f, start, window_seconds)) {
            ++added;
            windows.insert(start);
          }
        }
        for (const auto start : windows) c.prepare(mark_pending).bind_all(start, window_seconds).exec();
        if (position) c.prepare(commit_position).bind_all(position->group, position->position, now).exec();
        return added;
      });
}

task<std::vector<analytics::window>> sqlite_analytics::pending_windows(timestamp ended_by, std::size_t limit) {
  co_return co_await exec_.read([ended_by, limit](connection& c) {
    auto st = c.prepare(select_pending);
    st.bind_all(micros(ended_by), static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<analytics::window> out;
    while (st.step()) out.push_back(analytics::window{rows::time_at(st, 0), static_cast<int>(st.int64(1))});
    return out;
  });
}

task<void> sqlite_analytics::write_window(analytics::window w, timestamp now) {
  co_await exec_.write([this, start = micros(w.start), seconds = w.seconds, now = micros(now)](connection& c) {
    if (!writer_has_uuid_function_) {
      if (int rc = sqlite3_create_function_v2(c.handle(), "sl_uuid_v7", 0, SQLITE_UTF8, nullptr, new_uuid_v7, nullptr,
                                              nullptr, nullptr);
          rc != SQLITE_OK)
        throw sqlite_error(rc, "sqlite: adding sl_uuid_v7()");
      writer_has_uuid_function_ = true;
    }
    for (const char* sql :
         {delete_message_metrics, delete_channel_metrics, delete_user_metrics, delete_presence_metrics})
      c.prepare(sql).bind_all(start, seconds).exec();
    for (const char* sql :
         {insert_message_metrics, insert_channel_metrics, insert_user_metrics, insert_presence_metrics, mark_written})
      c.prepare(sql).bind_all(start, seconds, now).exec();
  });
}

task<std::int64_t> sqlite_analytics::prune_analytics(timestamp before) {
  co_return co_await exec_.write([before = micros(before)](connection& c) {
    std::int64_t deleted = 0;
    for (const char* sql : {prune_message_facts, prune_presence_facts, prune_windows, prune_message_metrics,
                            prune_channel_metrics, prune_user_metrics, prune_presence_metrics})
      deleted += c.prepare(sql).bind_all(before).exec();
    return deleted;
  });
}

task<std::vector<analytics::message_metrics>> sqlite_analytics::message_metrics(timestamp since, std::int64_t limit) {
  co_return co_await exec_.read([since, limit](connection& c) {
    auto st = c.prepare(select_message_metrics);
    st.bind_all(micros(since), non_negative(limit));
    std::vector<analytics::message_metrics> out;
    while (st.step()) {
      analytics::message_metrics m;
      m.id = uuid::parse(st.text(0)).value_or(uuid{});
      m.time_window = rows::time_at(st, 1);
      m.window_duration_seconds = static_cast<int>(st.int64(2));
      m.message_count = st.int64(3);
      m.messages_per_second = st.real(4);
      m.active_users_count = st.int64(5);
      m.unique_senders_count = st.int64(6);
      m.active_channels_count = st.int64(7);
      m.text_messages_count = st.int64(8);
      m.image_messages_count = st.int64(9);
      m.file_messages_count = st.int64(10);
      m.system_messages_count = st.int64(11);
      m.created_at = rows::time_at(st, 12);
      out.push_back(m);
    }
    return out;
  });
}

task<std::vector<analytics::channel_metrics>> sqlite_analytics::channel_metrics(channel_id ch, timestamp since) {
  co_return co_await exec_.read([ch, since](connection& c) {
    auto st = c.prepare(select_channel_metrics);
    st.bind_all(ch.str(), micros(since));
    std::vector<analytics::channel_metrics> out;
    while (st.step()) {
      analytics::channel_metrics m;
      m.id = uuid::parse(st.text(0)).value_or(uuid{});
      m.channel = id_at<channel_id>(st, 1);
      m.time_window = rows::time_at(st, 2);
      m.window_duration_seconds = static_cast<int>(st.int64(3));
      m.message_count = st.int64(4);
      m.unique_senders_count = st.int64(5);
      m.messages_per_second = st.real(6);
      m.created_count = st.int64(7);
      m.edited_count = st.int64(8);
      m.deleted_count = st.int64(9);
      m.created_at = rows::time_at(st, 10);
      out.push_back(m);
    }
    return out;
  });
}

task<std::vector<analytics::user_metrics>> sqlite_analytics::user_metrics(user_id u, timestamp since) {
  co_return co_await exec_.read([u, since](connection& c) {
    auto st = c.prepare(select_user_metrics);
    st.bind_all(u.str(), micros(since));
    std::vector<analytics::user_metrics> out;
    while (st.step()) {
      analytics::user_metrics m;
      m.id = uuid::parse(st.text(0)).value_or(uuid{});
      m.user = id_at<user_id>(st, 1);
      m.time_window = rows::time_at(st, 2);
      m.window_duration_seconds = static_cast<int>(st.int64(3));
      m.messages_sent = st.int64(4);
      m.messages_edited = st.int64(5);
      m.messages_deleted = st.int64(6);
      m.channels_active = st.int64(7);
      m.created_at = rows::time_at(st, 8);
      out.push_back(m);
    }
    return out;
  });
}

task<std::vector<analytics::presence_metrics>> sqlite_analytics::presence_metrics(timestamp since, std::int64_t limit) {
  co_return co_await exec_.read([since, limit](connection& c) {
    auto st = c.prepare(select_presence_metrics);
    st.bind_all(micros(since), non_negative(limit));
    std::vector<analytics::presence_metrics> out;
    while (st.step()) {
      analytics::presence_metrics m;
      m.id = uuid::parse(st.text(0)).value_or(uuid{});
      m.time_window = rows::time_at(st, 1);
      m.window_duration_seconds = static_cast<int>(st.int64(2));
      m.users_online = st.int64(3);
      m.users_connected = st.int64(4);
      m.users_disconnected = st.int64(5);
      m.sockets_peak = st.int64(6);
      m.created_at = rows::time_at(st, 7);
      out.push_back(m);
    }
    return out;
  });
}

task<std::vector<analytics::channel_total>> sqlite_analytics::top_channels(timestamp since, std::int64_t limit) {
  co_return co_await exec_.read([since, limit](connection& c) {
    auto st = c.prepare(select_top_channels);
    st.bind_all(micros(since), non_negative(limit));
    std::vector<analytics::channel_total> out;
    while (st.step())
      out.push_back(analytics::channel_total{id_at<channel_id>(st, 0), st.int64(1), st.int64(2), st.int64(3),
                                             st.int64(4), st.int64(5), st.opt_text(6)});
    return out;
  });
}

task<std::vector<analytics::user_total>> sqlite_analytics::top_users(timestamp since, std::int64_t limit) {
  co_return co_await exec_.read([since, limit](connection& c) {
    auto st = c.prepare(select_top_users);
    st.bind_all(micros(since), non_negative(limit));
    std::vector<analytics::user_total> out;
    while (st.step())
      out.push_back(analytics::user_total{id_at<user_id>(st, 0), st.int64(1), st.int64(2), st.int64(3), st.int64(4),
                                          st.int64(5), st.opt_text(6)});
    return out;
  });
}

task<analytics::system_totals> sqlite_analytics::system_totals(timestamp since) {
  co_return co_await exec_.read([since](connection& c) {
    auto st = c.prepare(select_system_totals);
    st.bind_all(micros(since));
    analytics::system_totals t;
    if (!st.step()) return t;
    t.messages = st.int64(0);
    t.active_users = st.int64(1);
    t.active_channels = st.int64(2);
    if (!st.is_null(3)) t.most_active_channel = id_at<channel_id>(st, 3);
    if (!st.is_null(4)) t.most_active_user = id_at<user_id>(st, 4);
    return t;
  });
}

task<std::int64_t> sqlite_analytics::users_online_now() {
  co_return co_await exec_.read([](connection& c) {
    auto st = c.prepare(select_users_online);
    return st.step() ? st.int64(0) : std::int64_t{0};
  });
}

}  // namespace sl::storage::sqlite
