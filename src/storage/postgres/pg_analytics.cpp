#include "storage/postgres/pg_analytics.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <variant>

#include "storage/postgres/detail/array_literal.hpp"
#include "storage/postgres/detail/exec.hpp"
#include "storage/postgres/detail/rows.hpp"
#include "storage/postgres/detail/sql.hpp"
#include "storage/postgres/pg_pool.hpp"

namespace sl::storage::postgres {
namespace {

namespace analytics = domain::analytics;
using detail::array_literal;
using detail::read_all;
using detail::row_cursor;
using detail::run_one;
using detail::run_transaction;
using duration = std::chrono::steady_clock::duration;

// $1 window seconds; message facts $2 event ids, $3 times, $4 window starts,
// $5 actions, $6 message ids, $7 channel ids, $8 user ids, $9 message types;
// presence facts $10 event ids, $11 times, $12 window starts, $13 actions,
// $14 user ids, $15 nodes, $16 sockets. Returns how many facts were new.
// Windows are upserted in start order, so that concurrent batches lock them
// in one order.
constexpr const char* record_facts_sql =
    "WITH mf AS (INSERT INTO analytics_message_facts (event_id, at, window_start, window_seconds, action, message_id,"
    "    channel_id, user_id, message_type)"
    "  SELECT f.event_id, f.at, f.window_start, $1::int, f.action, f.message_id, f.channel_id, f.user_id, f.type"
    "  FROM unnest($2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::text[], $6::uuid[], $7::uuid[], $8::uuid[],"
    "    $9::text[]) AS f(event_id, at, window_start, action, message_id, channel_id, user_id, type)"
    "  ON CONFLICT (event_id) DO NOTHING RETURNING window_start), "
    "pf AS (INSERT INTO analytics_presence_facts (event_id, at, window_start, window_seconds, action, user_id, node,"
    "    sockets)"
    "  SELECT f.event_id, f.at, f.window_start, $1::int, f.action, f.user_id, f.node, f.sockets"
    "  FROM unnest($10::uuid[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::uuid[], $15::text[],"
    "    $16::bigint[]) AS f(event_id, at, window_start, action, user_id, node, sockets)"
    "  ON CONFLICT (event_id) DO NOTHING RETURNING window_start), "
    "w AS (INSERT INTO analytics_windows (window_start, window_seconds, pending)"
    "  SELECT DISTINCT n.window_start, $1::int, true"
    "  FROM (SELECT window_start FROM mf UNION ALL SELECT window_start FROM pf) AS n ORDER BY n.window_start"
    "  ON CONFLICT (window_start, window_seconds) DO UPDATE SET pending = true) "
    "SELECT (SELECT count(*) FROM mf) + (SELECT count(*) FROM pf)";

// $1 ended by, $2 limit
constexpr const char* pending_windows_sql =
    "SELECT window_start, window_seconds FROM analytics_windows"
    " WHERE pending AND window_start + make_interval(secs => window_seconds) <= $1::timestamptz"
    " ORDER BY window_start, window_seconds LIMIT $2::bigint";

// ---- writing a window: $1 window start, $2 its seconds, $3 now ----

// First: takes the window's row lock until the commit (see pg_analytics.hpp).
constexpr const char* mark_written_sql =
    "INSERT INTO analytics_windows (window_start, window_seconds, pending, written_at)"
    " VALUES ($1::timestamptz, $2::int, false, $3::timestamptz)"
    " ON CONFLICT (window_start, window_seconds) DO UPDATE SET pending = false, written_at = excluded.written_at";

#define SL_PG_METRICS_OF_WINDOW "WHERE time_window = $1::timestamptz AND window_duration_seconds = $2::int"
constexpr const char* delete_window_metrics_sql = "WITH a AS (DELETE FROM message_metrics " SL_PG_METRICS_OF_WINDOW
                                                  "), "
                                                  "b AS (DELETE FROM channel_metrics " SL_PG_METRICS_OF_WINDOW
                                                  "), "
                                                  "c AS (DELETE FROM user_metrics " SL_PG_METRICS_OF_WINDOW
                                                  ") "
                                                  "DELETE FROM presence_metrics " SL_PG_METRICS_OF_WINDOW;
#undef SL_PG_METRICS_OF_WINDOW

#define SL_PG_WINDOW_FACTS "WHERE window_start = $1::timestamptz AND window_seconds = $2::int"
#define SL_PG_CREATED "FILTER (WHERE action = 'created')"
#define SL_PG_PER_SECOND "::double precision / $2::int::double precision"

// GROUP BY over the one window: no row when it has no message fact.
constexpr const char* insert_message_metrics_sql =
    "INSERT INTO message_metrics (id, time_window, window_duration_seconds, message_count, messages_per_second,"
    " active_users_count, unique_senders_count, active_channels_count, text_messages_count, image_messages_count,"
    " file_messages_count, system_messages_count, created_at)"
    " SELECT sl_uuid_v7(), $1::timestamptz, $2::int, count(*) " SL_PG_CREATED ", (count(*) " SL_PG_CREATED
    ")" SL_PG_PER_SECOND
    ","
    " count(DISTINCT user_id), count(DISTINCT user_id) " SL_PG_CREATED
    ", count(DISTINCT channel_id),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'text'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'image'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'file'),"
    " count(*) FILTER (WHERE action = 'created' AND message_type = 'system'), $3::timestamptz"
    " FROM analytics_message_facts " SL_PG_WINDOW_FACTS " GROUP BY window_start";

constexpr const char* insert_channel_metrics_sql =
    "INSERT INTO channel_metrics (id, channel_id, time_window, window_duration_seconds, message_count,"
    " unique_senders_count, messages_per_second, created_count, edited_count, deleted_count, created_at)"
    " SELECT sl_uuid_v7(), channel_id, $1::timestamptz, $2::int, count(*) " SL_PG_CREATED
    ","
    " count(DISTINCT user_id) " SL_PG_CREATED ", (count(*) " SL_PG_CREATED ")" SL_PG_PER_SECOND
    ","
    " count(*) " SL_PG_CREATED
    ", count(*) FILTER (WHERE action = 'edited'), count(*) FILTER (WHERE action = 'deleted'),"
    " $3::timestamptz"
    " FROM analytics_message_facts " SL_PG_WINDOW_FACTS " GROUP BY channel_id";

constexpr const char* insert_user_metrics_sql =
    "INSERT INTO user_metrics (id, user_id, time_window, window_duration_seconds, messages_sent, messages_edited,"
    " messages_deleted, channels_active, created_at)"
    " SELECT sl_uuid_v7(), user_id, $1::timestamptz, $2::int, count(*) " SL_PG_CREATED
    ","
    " count(*) FILTER (WHERE action = 'edited'), count(*) FILTER (WHERE action = 'deleted'),"
    " count(DISTINCT channel_id) " SL_PG_CREATED
    ", $3::timestamptz"
    " FROM analytics_message_facts " SL_PG_WINDOW_FACTS " AND user_id IS NOT NULL GROUP BY user_id";

// The latest online/offline action of user `u.user_id` among facts matching `cond`.
#define SL_PG_LATEST_PRESENCE(cond)                                                        \
  "(SELECT p.action FROM analytics_presence_facts p WHERE p.user_id = u.user_id AND " cond \
  " AND p.action IN ('online', 'offline') ORDER BY p.at DESC, p.event_id DESC LIMIT 1)"

// users_online: online when the window began (carried over from any earlier
// fact) or coming online in it.
constexpr const char* insert_presence_metrics_sql =
    "INSERT INTO presence_metrics (id, time_window, window_duration_seconds, users_online, users_connected,"
    " users_disconnected, sockets_peak, created_at)"
    " SELECT sl_uuid_v7(), $1::timestamptz, $2::int,"
    " (SELECT count(*) FROM ("
    "   SELECT user_id FROM analytics_presence_facts " SL_PG_WINDOW_FACTS
    " AND action = 'online'"
    "   UNION"
    "   SELECT u.user_id FROM (SELECT DISTINCT user_id FROM analytics_presence_facts"
    "     WHERE user_id IS NOT NULL AND at < $1::timestamptz) AS u"
    "   WHERE " SL_PG_LATEST_PRESENCE("p.at < $1::timestamptz") " = 'online') AS online),"
    " count(DISTINCT user_id) FILTER (WHERE action = 'online'),"
    " count(DISTINCT user_id) FILTER (WHERE action = 'offline'),"
    " (SELECT coalesce(sum(peak), 0)::bigint FROM (SELECT max(sockets) AS peak FROM analytics_presence_facts "
    SL_PG_WINDOW_FACTS " AND action = 'sockets' GROUP BY node) AS nodes), $3::timestamptz"
    " FROM analytics_presence_facts " SL_PG_WINDOW_FACTS " GROUP BY window_start";

#undef SL_PG_WINDOW_FACTS
#undef SL_PG_CREATED
#undef SL_PG_PER_SECOND

// $1 before. Keeps each user's latest online/offline fact among those
// pruned: the presence that later windows carry over.
constexpr const char* prune_sql =
    "WITH mf AS (DELETE FROM analytics_message_facts WHERE window_start < $1::timestamptz RETURNING 1), "
    "pf AS (DELETE FROM analytics_presence_facts d WHERE d.window_start < $1::timestamptz AND NOT ("
    "  d.user_id IS NOT NULL AND d.action IN ('online', 'offline') AND d.event_id = ("
    "    SELECT k.event_id FROM analytics_presence_facts k"
    "    WHERE k.user_id = d.user_id AND k.window_start < $1::timestamptz AND k.action IN ('online', 'offline')"
    "    ORDER BY k.at DESC, k.event_id DESC LIMIT 1)) RETURNING 1), "
    "w AS (DELETE FROM analytics_windows WHERE window_start < $1::timestamptz RETURNING 1), "
    "mm AS (DELETE FROM message_metrics WHERE time_window < $1::timestamptz RETURNING 1), "
    "cm AS (DELETE FROM channel_metrics WHERE time_window < $1::timestamptz RETURNING 1), "
    "um AS (DELETE FROM user_metrics WHERE time_window < $1::timestamptz RETURNING 1), "
    "pm AS (DELETE FROM presence_metrics WHERE time_window < $1::timestamptz RETURNING 1) "
    "SELECT (SELECT count(*) FROM mf) + (SELECT count(*) FROM pf) + (SELECT count(*) FROM w)"
    " + (SELECT count(*) FROM mm) + (SELECT count(*) FROM cm) + (SELECT count(*) FROM um)"
    " + (SELECT count(*) FROM pm)";

// ---- queries ----

// $1 since, $2 limit
constexpr const char* message_metrics_sql =
    "SELECT id, time_window, window_duration_seconds, message_count, messages_per_second, active_users_count,"
    " unique_senders_count, active_channels_count, text_messages_count, image_messages_count, file_messages_count,"
    " system_messages_count, created_at FROM message_metrics WHERE time_window >= $1::timestamptz"
    " ORDER BY time_window DESC, window_duration_seconds DESC LIMIT $2::bigint";
// $1 channel, $2 since
constexpr const char* channel_metrics_sql =
    "SELECT id, channel_id, time_window, window_duration_seconds, message_count, unique_senders_count,"
    " messages_per_second, created_count, edited_count, deleted_count, created_at FROM channel_metrics"
    " WHERE channel_id = $1::uuid AND time_window >= $2::timestamptz"
    " ORDER BY time_window DESC, window_duration_seconds DESC";
// $1 user, $2 since
constexpr const char* user_metrics_sql =
    "SELECT id, user_id, time_window, window_duration_seconds, messages_sent, messages_edited, messages_deleted,"
    " channels_active, created_at FROM user_metrics WHERE user_id = $1::uuid AND time_window >= $2::timestamptz"
    " ORDER BY time_window DESC, window_duration_seconds DESC";
// $1 since, $2 limit
constexpr const char* presence_metrics_sql =
    "SELECT id, time_window, window_duration_seconds, users_online, users_connected, users_disconnected,"
    " sockets_peak, created_at FROM presence_metrics WHERE time_window >= $1::timestamptz"
    " ORDER BY time_window DESC, window_duration_seconds DESC LIMIT $2::bigint";

// Message facts of the written windows starting at or after $1.
#define SL_PG_WRITTEN_FACTS                                                                     \
  " FROM analytics_message_facts f JOIN analytics_windows w ON w.window_start = f.window_start" \
  " AND w.window_seconds = f.window_seconds AND w.written_at IS NOT NULL WHERE f.window_start >= $1::timestamptz"

// $1 since, $2 limit
constexpr const char* top_channels_sql =
    "WITH senders AS (SELECT f.channel_id, count(DISTINCT f.user_id) AS n" SL_PG_WRITTEN_FACTS
    " AND f.action = 'created' GROUP BY f.channel_id)"
    " SELECT m.channel_id, sum(m.message_count) AS created, sum(m.edited_count), sum(m.deleted_count),"
    " coalesce(s.n, 0), count(*), ch.name"
    " FROM channel_metrics m LEFT JOIN senders s ON s.channel_id = m.channel_id"
    " LEFT JOIN channels ch ON ch.id = m.channel_id"
    " WHERE m.time_window >= $1::timestamptz GROUP BY m.channel_id, s.n, ch.name ORDER BY created DESC, m.channel_id"
    " LIMIT $2::bigint";
constexpr const char* top_users_sql =
    "WITH channels AS (SELECT f.user_id, count(DISTINCT f.channel_id) AS n" SL_PG_WRITTEN_FACTS
    " AND f.action = 'created' GROUP BY f.user_id)"
    " SELECT m.user_id, sum(m.messages_sent) AS sent, sum(m.messages_edited), sum(m.messages_deleted),"
    " coalesce(c.n, 0), count(*), u.username"
    " FROM user_metrics m LEFT JOIN channels c ON c.user_id = m.user_id LEFT JOIN users u ON u.id = m.user_id"
    " WHERE m.time_window >= $1::timestamptz GROUP BY m.user_id, c.n, u.username ORDER BY sent DESC, m.user_id"
    " LIMIT $2::bigint";
// $1 since
constexpr const char* system_totals_sql =
    "SELECT (SELECT coalesce(sum(message_count), 0) FROM message_metrics WHERE time_window >= $1::timestamptz),"
    " (SELECT count(DISTINCT f.user_id)" SL_PG_WRITTEN_FACTS
    "),"
    " (SELECT count(DISTINCT f.channel_id)" SL_PG_WRITTEN_FACTS
    "),"
    " (SELECT channel_id FROM channel_metrics WHERE time_window >= $1::timestamptz GROUP BY channel_id"
    "  HAVING sum(message_count) > 0 ORDER BY sum(message_count) DESC, channel_id LIMIT 1),"
    " (SELECT user_id FROM user_metrics WHERE time_window >= $1::timestamptz GROUP BY user_id"
    "  HAVING sum(messages_sent) > 0 ORDER BY sum(messages_sent) DESC, user_id LIMIT 1)";
#undef SL_PG_WRITTEN_FACTS

constexpr const char* users_online_sql =
    "SELECT count(*) FROM (SELECT DISTINCT user_id FROM analytics_presence_facts WHERE user_id IS NOT NULL) AS u"
    " WHERE " SL_PG_LATEST_PRESENCE("true") " = 'online'";
#undef SL_PG_LATEST_PRESENCE

std::int64_t non_negative(std::int64_t v) { return std::max<std::int64_t>(0, v); }

double read_double(row_cursor& c) {
  const auto t = c.text();
  double v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) throw pg_error("postgres: malformed double '" + t + "'");
  return v;
}

pg_statement window_statement(const char* sql, const char* name, const analytics::window& w) {
  pg_statement s(sql, name);
  s.time(w.start).integer(w.seconds);
  return s;
}

pg_statement record_statement(const std::vector<analytics::fact>& facts, int window_seconds) {
  // In event id order, so that concurrent batches meet a shared event in one order.
  std::vector<const analytics::message_fact*> messages;
  std::vector<const analytics::presence_fact*> presence;
  for (const auto& f : facts) {
    if (const auto* m = std::get_if<analytics::message_fact>(&f))
      messages.push_back(m);
    else
      presence.push_back(&std::get<analytics::presence_fact>(f));
  }
  const auto by_id = [](const auto* a, const auto* b) { return (a->id) < (b->id); };
  std::sort(messages.begin(), messages.end(), by_id);
  std::sort(presence.begin(), presence.end(), by_id);
  const auto start_of = [window_seconds](timestamp at) {
    return format_iso(analytics::window_of(at, window_seconds).start);
  };

  array_literal ids, ats, starts, actions, message_ids, channel_ids, user_ids, types;
  for (const auto* m : messages) {
    ids.add(m->id.str());
    ats.add(format_iso(m->at));
    starts.add(start_of(m->at));
    actions.add(analytics::to_string(m->action));
    message_ids.add(m->message.str());
    channel_ids.add(m->channel.str());
    if (m->user)
      user_ids.add(m->user->str());
    else
      user_ids.add_null();
    types.add(domain::to_string(m->type));
  }
  array_literal p_ids, p_ats, p_starts, p_actions, p_users, p_nodes, p_sockets;
  for (const auto* p : presence) {
    p_ids.add(p->id.str());
    p_ats.add(format_iso(p->at));
    p_starts.add(start_of(p->at));
    p_actions.add(analytics::to_string(p->action));
    if (p->user)
      p_users.add(p->user->str());
    else
      p_users.add_null();
    if (p->node.empty())
      p_nodes.add_null();
    else
      p_nodes.add(p->node);
    p_sockets.add(std::to_string(p->sockets));
  }
  pg_statement s(record_facts_sql, "analytics_record_facts");
  s.integer(window_seconds);
  for (const auto* a : {&ids, &ats, &starts, &actions, &message_ids, &channel_ids, &user_ids, &types, &p_ids, &p_ats,
                        &p_starts, &p_actions, &p_users, &p_nodes, &p_sockets})
    s.text(a->str());
  return s;
}

}  // namespace

task<std::int64_t> pg_analytics::record_facts(std::vector<analytics::fact> facts, int window_seconds,
                                              std::optional<domain::group_position> position) {
  if (window_seconds <= 0) throw std::invalid_argument("record_facts: window_seconds must be positive");
  std::vector<pg_statement> statements;
  if (!facts.empty()) statements.push_back(record_statement(facts, window_seconds));
  if (position) {
    pg_statement s(sql::commit_group_position, "commit_group_position");
    s.text(position->group).integer(position->position).time(system_clock{}.now());
    statements.push_back(std::move(s));
  }
  if (statements.empty()) co_return 0;
  auto results = co_await run_transaction(*pool_, timeout_, std::move(statements), "postgres: record_facts");
  if (facts.empty()) co_return 0;
  row_cursor c(results[0], 0);
  co_return c.integer();
}

task<std::vector<analytics::window>> pg_analytics::pending_windows(timestamp ended_by, std::size_t limit) {
  pg_statement s(pending_windows_sql, "analytics_pending_windows");
  s.time(ended_by).integer(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: pending_windows");
  co_return read_all<analytics::window>(r, [](row_cursor& c) {
    analytics::window w;
    w.start = c.time();
    w.seconds = static_cast<int>(c.integer());
    return w;
  });
}

task<void> pg_analytics::write_window(analytics::window w, timestamp now) {
  std::vector<pg_statement> statements;
  statements.push_back(std::move(window_statement(mark_written_sql, "analytics_mark_written", w).time(now)));
  statements.push_back(window_statement(delete_window_metrics_sql, "analytics_delete_window_metrics", w));
  const std::pair<const char*, const char*> inserts[] = {
      {insert_message_metrics_sql, "analytics_insert_message_metrics"},
      {insert_channel_metrics_sql, "analytics_insert_channel_metrics"},
      {insert_user_metrics_sql, "analytics_insert_user_metrics"},
      {insert_presence_metrics_sql, "analytics_insert_presence_metrics"}};
  for (const auto& [sql, name] : inserts) statements.push_back(std::move(window_statement(sql, name, w).time(now)));
  co_await run_transaction(*pool_, timeout_, std::move(statements), "postgres: write_window");
}

task<std::int64_t> pg_analytics::prune_analytics(timestamp before) {
  auto r = co_await run_one(*pool_, timeout_, std::move(pg_statement(prune_sql, "analytics_prune").time(before)),
                            "postgres: prune_analytics");
  row_cursor c(r, 0);
  co_return c.integer();
}

task<std::vector<analytics::message_metrics>> pg_analytics::message_metrics(timestamp since, std::int64_t limit) {
  pg_statement s(message_metrics_sql, "analytics_message_metrics");
  s.time(since).integer(non_negative(limit));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: message_metrics");
  co_return read_all<analytics::message_metrics>(r, [](row_cursor& c) {
    analytics::message_metrics m;
    m.id = c.id();
    m.time_window = c.time();
    m.window_duration_seconds = static_cast<int>(c.integer());
    m.message_count = c.integer();
    m.messages_per_second = read_double(c);
    m.active_users_count = c.integer();
    m.unique_senders_count = c.integer();
    m.active_channels_count = c.integer();
    m.text_messages_count = c.integer();
    m.image_messages_count = c.integer();
    m.file_messages_count = c.integer();
    m.system_messages_count = c.integer();
    m.created_at = c.time();
    return m;
  });
}

task<std::vector<analytics::channel_metrics>> pg_analytics::channel_metrics(channel_id ch, timestamp since) {
  pg_statement s(channel_metrics_sql, "analytics_channel_metrics");
  s.id(ch).time(since);
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: channel_metrics");
  co_return read_all<analytics::channel_metrics>(r, [](row_cursor& c) {
    analytics::channel_metrics m;
    m.id = c.id();
    m.channel = channel_id{c.id()};
    m.time_window = c.time();
    m.window_duration_seconds = static_cast<int>(c.integer());
    m.message_count = c.integer();
    m.unique_senders_count = c.integer();
    m.messages_per_second = read_double(c);
    m.created_count = c.integer();
    m.edited_count = c.integer();
    m.deleted_count = c.integer();
    m.created_at = c.time();
    return m;
  });
}

task<std::vector<analytics::user_metrics>> pg_analytics::user_metrics(user_id u, timestamp since) {
  pg_statement s(user_metrics_sql, "analytics_user_metrics");
  s.id(u).time(since);
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: user_metrics");
  co_return read_all<analytics::user_metrics>(r, [](row_cursor& c) {
    analytics::user_metrics m;
    m.id = c.id();
    m.user = user_id{c.id()};
    m.time_window = c.time();
    m.window_duration_seconds = static_cast<int>(c.integer());
    m.messages_sent = c.integer();
    m.messages_edited = c.integer();
    m.messages_deleted = c.integer();
    m.channels_active = c.integer();
    m.created_at = c.time();
    return m;
  });
}

task<std::vector<analytics::presence_metrics>> pg_analytics::presence_metrics(timestamp since, std::int64_t limit) {
  pg_statement s(presence_metrics_sql, "analytics_presence_metrics");
  s.time(since).integer(non_negative(limit));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: presence_metrics");
  co_return read_all<analytics::presence_metrics>(r, [](row_cursor& c) {
    analytics::presence_metrics m;
    m.id = c.id();
    m.time_window = c.time();
    m.window_duration_seconds = static_cast<int>(c.integer());
    m.users_online = c.integer();
    m.users_connected = c.integer();
    m.users_disconnected = c.integer();
    m.sockets_peak = c.integer();
    m.created_at = c.time();
    return m;
  });
}

task<std::vector<analytics::channel_total>> pg_analytics::top_channels(timestamp since, std::int64_t limit) {
  pg_statement s(top_channels_sql, "analytics_top_channels");
  s.time(since).integer(non_negative(limit));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: top_channels");
  co_return read_all<analytics::channel_total>(r, [](row_cursor& c) {
    analytics::channel_total t;
    t.channel = channel_id{c.id()};
    t.message_count = c.integer();
    t.edited_count = c.integer();
    t.deleted_count = c.integer();
    t.unique_senders_count = c.integer();
    t.windows = c.integer();
    t.name = c.opt_text();
    return t;
  });
}

task<std::vector<analytics::user_total>> pg_analytics::top_users(timestamp since, std::int64_t limit) {
  pg_statement s(top_users_sql, "analytics_top_users");
  s.time(since).integer(non_negative(limit));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: top_users");
  co_return read_all<analytics::user_total>(r, [](row_cursor& c) {
    analytics::user_total t;
    t.user = user_id{c.id()};
    t.messages_sent = c.integer();
    t.messages_edited = c.integer();
    t.messages_deleted = c.integer();
    t.channels_active = c.integer();
    t.windows = c.integer();
    t.username = c.opt_text();
    return t;
  });
}

task<analytics::system_totals> pg_analytics::system_totals(timestamp since) {
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(system_totals_sql, "analytics_system_totals").time(since)),
                            "postgres: system_totals");
  row_cursor c(r, 0);
  analytics::system_totals t;
  t.messages = c.integer();
  t.active_users = c.integer();
  t.active_channels = c.integer();
  if (auto ch = c.opt_id()) t.most_active_channel = channel_id{*ch};
  if (auto u = c.opt_id()) t.most_active_user = user_id{*u};
  co_return t;
}

task<std::int64_t> pg_analytics::users_online_now() {
  auto r = co_await run_one(*pool_, timeout_, pg_statement(users_online_sql, "analytics_users_online_now"),
                            "postgres: users_online_now");
  row_cursor c(r, 0);
  co_return c.integer();
}

}  // namespace sl::storage::postgres
