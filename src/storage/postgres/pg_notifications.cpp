#include "storage/postgres/pg_notifications.hpp"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <string_view>

#include "storage/null_if_empty.hpp"
#include "storage/postgres/detail/array_literal.hpp"
#include "storage/postgres/detail/exec.hpp"
#include "storage/postgres/detail/rows.hpp"
#include "storage/postgres/detail/sql.hpp"
#include "storage/postgres/pg_pool.hpp"

namespace sl::storage::postgres {
namespace {

namespace notify = domain::notify;
using detail::array_literal;
using detail::read_all;
using detail::row_cursor;
using detail::run_one;
using detail::run_transaction;
using duration = std::chrono::steady_clock::duration;

// A stored error is cut to this many bytes (whole UTF-8 sequences).
constexpr std::size_t max_error_bytes = 1000;

// 11 columns of a notifications row `n`: read_notification().
#define SL_PG_NOTIFICATION_COLUMNS                                                                              \
  "n.id, n.user_id, n.type, n.channel_id, n.message_id, n.actor_id, n.text, n.count, n.is_read, n.created_at, " \
  "n.updated_at"
#define SL_PG_PREFERENCE_COLUMNS                                                  \
  "coalesce(p.email_notifications, true), coalesce(p.push_notifications, true), " \
  "coalesce(p.mention_notifications, true), coalesce(p.dm_notifications, true), p.created_at, p.updated_at"

// $1 usernames (text[]). Case-insensitive as `lower` of the "C" collation: ASCII
// only, like SQLite's; ix_users_username_lower serves it.
constexpr const char* users_named_sql =
    "SELECT " SL_PG_USER_COLUMNS
    " FROM users u WHERE u.is_active"
    " AND lower(u.username) IN (SELECT lower(t.n COLLATE \"C\") FROM unnest($1::text[]) AS t(n))";

// $1 user. A user without a preferences row gets the defaults (NULL times).
constexpr const char* preferences_of_sql =
    "SELECT " SL_PG_PREFERENCE_COLUMNS
    " FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id WHERE u.id = $1::uuid";
// $1 user, $2 id of a new row, $3..$6 email/push/mention/dm or NULL (unchanged), $7 now
constexpr const char* update_preferences_sql =
    "WITH p AS (INSERT INTO notification_preferences AS x (id, user_id, email_notifications, push_notifications,"
    "    mention_notifications, dm_notifications, created_at, updated_at)"
    "  SELECT $2::uuid, u.id, coalesce($3::boolean, true), coalesce($4::boolean, true), coalesce($5::boolean, true),"
    "    coalesce($6::boolean, true), $7::timestamptz, $7::timestamptz FROM users u WHERE u.id = $1::uuid"
    "  ON CONFLICT (user_id) DO UPDATE SET"
    "    email_notifications = coalesce($3::boolean, x.email_notifications),"
    "    push_notifications = coalesce($4::boolean, x.push_notifications),"
    "    mention_notifications = coalesce($5::boolean, x.mention_notifications),"
    "    dm_notifications = coalesce($6::boolean, x.dm_notifications), updated_at = $7::timestamptz"
    "  RETURNING *) "
    "SELECT " SL_PG_PREFERENCE_COLUMNS " FROM p";

// $1 channel, $2 user, $3 muted
constexpr const char* set_muted_sql =
    "UPDATE channel_members SET muted = $3::boolean WHERE channel_id = $1::uuid AND user_id = $2::uuid";
constexpr const char* muted_sql =
    "SELECT muted FROM channel_members WHERE channel_id = $1::uuid AND user_id = $2::uuid";

// $1 low, $2 high, $3 channel id, $4 name, $5 a, $6 a's membership, $7 b, $8
// b's membership, $9 now, $10..$14 the outbox rows (arrays: event ids,
// topics, keys, types, payloads), $15 their traceparent or NULL. Nothing but the pair's row is attempted
// when the pair exists (or a concurrent open just created it: the insert
// waits for that transaction and then does nothing). The channel row comes
// after its direct_channels row in the statement: foreign keys are checked
// at its end.
constexpr const char* create_direct_sql =
    "WITH d AS (INSERT INTO direct_channels (user_low, user_high, channel_id, created_at)"
    "  VALUES ($1::uuid, $2::uuid, $3::uuid, $9::timestamptz) ON CONFLICT (user_low, user_high) DO NOTHING"
    "  RETURNING channel_id), "
    "c AS (INSERT INTO channels (id, name, description, is_private, is_direct, created_by, created_at, updated_at,"
    "    member_count)"
    "  SELECT d.channel_id, $4, NULL, true, true, $5::uuid, $9::timestamptz, $9::timestamptz, 2 FROM d RETURNING id), "
    "m AS (INSERT INTO channel_members (id, channel_id, user_id, role, joined_at)"
    "  SELECT x.id, c.id, x.user_id, 'member', $9::timestamptz"
    "  FROM c, (VALUES ($6::uuid, $5::uuid), ($8::uuid, $7::uuid)) AS x(id, user_id)), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT e.event_id, e.topic, e.event_key, e.event_type, e.payload, $9::timestamptz, $15::text"
    "  FROM c, unnest($10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[])"
    "    WITH ORDINALITY AS e(event_id, topic, event_key, event_type, payload, ord) ORDER BY e.ord) "
    "SELECT count(*) FROM c";
// $1 low, $2 high, $3 viewer
constexpr const char* find_direct_sql =
    "SELECT " SL_PG_CHANNEL_COLUMNS
    " FROM direct_channels dc JOIN channels c ON c.id = dc.channel_id"
    " LEFT JOIN channel_members vm ON vm.channel_id = c.id AND vm.user_id = $3::uuid"
    " WHERE dc.user_low = $1::uuid AND dc.user_high = $2::uuid";

constexpr const char* channel_info_sql = "SELECT id, name, is_private, is_direct FROM channels WHERE id = $1::uuid";
// $1 channel, $2 only these users (uuid[]) or NULL: everyone
constexpr const char* audience_sql =
    "SELECT cm.user_id, u.username, u.email, cm.role, cm.muted, " SL_PG_PREFERENCE_COLUMNS
    " FROM channel_members cm JOIN users u ON u.id = cm.user_id"
    " LEFT JOIN notification_preferences p ON p.user_id = cm.user_id"
    " WHERE cm.channel_id = $1::uuid AND u.is_active AND ($2::uuid[] IS NULL OR cm.user_id = ANY($2::uuid[]))"
    " ORDER BY cm.user_id";
// $1 root
constexpr const char* thread_participants_sql =
    "SELECT user_id FROM messages WHERE id = $1::uuid AND user_id IS NOT NULL"
    " UNION SELECT user_id FROM messages WHERE parent_id = $1::uuid AND user_id IS NOT NULL";

#define SL_PG_WEBHOOK_COLUMNS "id, user_id, url, secret, created_at"
constexpr const char* create_webhook_sql =
    "INSERT INTO webhooks (id, user_id, url, secret, created_at)"
    " VALUES ($1::uuid, $2::uuid, $3, $4, $5::timestamptz) RETURNING " SL_PG_WEBHOOK_COLUMNS;
constexpr const char* list_webhooks_sql =
    "SELECT " SL_PG_WEBHOOK_COLUMNS " FROM webhooks WHERE user_id = $1::uuid ORDER BY created_at, id";
constexpr const char* count_webhooks_sql = "SELECT count(*) FROM webhooks WHERE user_id = $1::uuid";
constexpr const char* delete_webhook_sql = "DELETE FROM webhooks WHERE id = $2::uuid AND user_id = $1::uuid";

// $1 recipients (text[]). Transaction-scoped, in key order so that notifiers
// with overlapping recipients queue rather than deadlock; the subquery's order
// is the order in which the locks are taken. The two-key form keeps these
// apart from single-key advisory locks (the migrator's).
constexpr const char* lock_recipients_sql =
    "SELECT count(pg_advisory_xact_lock(7305, s.h)) FROM"
    " (SELECT DISTINCT hashtext(r) AS h FROM unnest($1::text[]) AS t(r) ORDER BY h) AS s";

// One decision, under its recipient's lock. $1 event, $2 recipient, $3 id of
// a new notification, $4 type, $5 channel, $6 message, $7 actor or NULL, $8
// text, $9 coalescing window start, $10 now, $11 deliveries due at, $12 owes
// webhooks, $13 owes an email, $14..$18 outbox id/topic/key/type/payload of
// notification.created, $19 its traceparent or NULL. Returns one row: the outcome, then the notification
// (for a duplicate whose notification is gone since, rebuilt from the
// decision under the id the receipt names).
constexpr const char* record_notification_sql =
    "WITH prev AS (SELECT r.notification_id FROM notification_receipts r"
    "  WHERE r.event_id = $1::uuid AND r.user_id = $2::uuid), "
    "slot AS (SELECT n.id FROM notifications n"
    "  WHERE n.user_id = $2::uuid AND n.channel_id = $5::uuid AND NOT n.is_read AND n.created_at >= $9::timestamptz"
    "    AND NOT EXISTS (SELECT 1 FROM prev)"
    "  ORDER BY n.created_at DESC, n.id DESC LIMIT 1 FOR UPDATE OF n), "
    "rc AS (INSERT INTO notification_receipts (event_id, user_id, notification_id, created_at)"
    "  SELECT $1::uuid, $2::uuid, coalesce((SELECT id FROM slot), $3::uuid), $10::timestamptz"
    "  WHERE NOT EXISTS (SELECT 1 FROM prev) ON CONFLICT DO NOTHING RETURNING notification_id), "
    "fold AS (UPDATE notifications n SET count = n.count + 1, message_id = $6::uuid, actor_id = $7::uuid, text = $8,"
    "    updated_at = $10::timestamptz"
    "  FROM slot WHERE n.id = slot.id AND EXISTS (SELECT 1 FROM rc) RETURNING n.*), "
    "made AS (INSERT INTO notifications (id, user_id, type, channel_id, message_id, actor_id, text, created_at,"
    "    updated_at)"
    "  SELECT $3::uuid, $2::uuid, $4, $5::uuid, $6::uuid, $7::uuid, $8, $10::timestamptz, $10::timestamptz"
    "  WHERE EXISTS (SELECT 1 FROM rc) AND NOT EXISTS (SELECT 1 FROM slot) RETURNING *), "
    "dl AS (INSERT INTO notification_deliveries (id, notification_id, channel, webhook_id, target, due_at, created_at,"
    "    updated_at)"
    "  SELECT sl_uuid_v7(), made.id, 'webhook', w.id, w.url, $11::timestamptz, $10::timestamptz, $10::timestamptz"
    "  FROM made JOIN webhooks w ON w.user_id = made.user_id AND w.is_active WHERE $12::boolean"
    "  UNION ALL"
    "  SELECT sl_uuid_v7(), made.id, 'email', NULL, u.email, $11::timestamptz, $10::timestamptz, $10::timestamptz"
    "  FROM made JOIN users u ON u.id = made.user_id WHERE $13::boolean), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT $14::uuid, $15, $16, $17, $18, $10::timestamptz, $19::text FROM made) "
    "SELECT 'created', " SL_PG_NOTIFICATION_COLUMNS
    " FROM made n "
    "UNION ALL SELECT 'folded', " SL_PG_NOTIFICATION_COLUMNS
    " FROM fold n "
    "UNION ALL SELECT 'duplicate', prev.notification_id, $2::uuid, coalesce(n.type, $4), coalesce(n.channel_id,"
    "  $5::uuid), coalesce(n.message_id, $6::uuid), CASE WHEN n.id IS NULL THEN $7::uuid ELSE n.actor_id END,"
    "  coalesce(n.text, $8), coalesce(n.count, 1), coalesce(n.is_read, false), coalesce(n.created_at,"
    "  $10::timestamptz), coalesce(n.updated_at, $10::timestamptz)"
    " FROM prev LEFT JOIN notifications n ON n.id = prev.notification_id";

// $1 user, $2 limit, $3 offset
constexpr const char* list_notifications_sql =
    "SELECT " SL_PG_NOTIFICATION_COLUMNS
    " FROM notifications n WHERE n.user_id = $1::uuid"
    " ORDER BY n.created_at DESC, n.id DESC LIMIT $2::bigint OFFSET $3::bigint";
constexpr const char* unread_count_sql = "SELECT count(*) FROM notifications WHERE user_id = $1::uuid AND NOT is_read";
// $1 user, $2 id, $3 now. Marking a read one again keeps its read_at.
constexpr const char* mark_notification_read_sql =
    "UPDATE notifications n SET is_read = true, read_at = coalesce(n.read_at, $3::timestamptz)"
    " WHERE n.id = $2::uuid AND n.user_id = $1::uuid RETURNING " SL_PG_NOTIFICATION_COLUMNS;
constexpr const char* mark_all_read_sql =
    "UPDATE notifications SET is_read = true, read_at = $2::timestamptz WHERE user_id = $1::uuid AND NOT is_read";

// $1 now, $2 lease until, $3 limit. Rows leased by a live claim of another
// notifier are skipped (SKIP LOCKED covers the claims still in flight).
constexpr const char* claim_deliveries_sql =
    "WITH due AS (SELECT d.id FROM notification_deliveries d"
    "  WHERE d.status = 'pending' AND d.due_at <= $1::timestamptz"
    "    AND (d.locked_until IS NULL OR d.locked_until <= $1::timestamptz)"
    "  ORDER BY d.due_at, d.id LIMIT $3::bigint FOR UPDATE SKIP LOCKED), "
    "up AS (UPDATE notification_deliveries d SET locked_until = $2::timestamptz FROM due WHERE d.id = due.id"
    "  RETURNING d.id, d.notification_id, d.channel, d.webhook_id, d.target, d.attempts, d.due_at) "
    "SELECT up.id, up.channel, up.target, coalesce(w.secret, ''), up.attempts, " SL_PG_NOTIFICATION_COLUMNS
    ", ru.username, coalesce(au.username, ''), c.name"
    " FROM up JOIN notifications n ON n.id = up.notification_id JOIN users ru ON ru.id = n.user_id"
    " LEFT JOIN users au ON au.id = n.actor_id JOIN channels c ON c.id = n.channel_id"
    " LEFT JOIN webhooks w ON w.id = up.webhook_id ORDER BY up.due_at, up.id";
// $1 id, $2 now
constexpr const char* delivery_sent_sql =
    "UPDATE notification_deliveries SET status = 'sent', attempts = attempts + 1, locked_until = NULL,"
    " updated_at = $2::timestamptz WHERE id = $1::uuid";
// $1 id, $2 due again at, $3 error
constexpr const char* delivery_retry_sql =
    "UPDATE notification_deliveries SET attempts = attempts + 1, due_at = $2::timestamptz, locked_until = NULL,"
    " last_error = $3, updated_at = now() WHERE id = $1::uuid";
// $1 id, $2 error, $3 now
constexpr const char* delivery_failed_sql =
    "UPDATE notification_deliveries SET status = 'failed', attempts = attempts + 1, locked_until = NULL,"
    " last_error = $2, updated_at = $3::timestamptz WHERE id = $1::uuid";
constexpr const char* pending_deliveries_sql = "SELECT count(*) FROM notification_deliveries WHERE status = 'pending'";

#undef SL_PG_NOTIFICATION_COLUMNS
#undef SL_PG_PREFERENCE_COLUMNS
#undef SL_PG_WEBHOOK_COLUMNS

std::int64_t non_negative(std::int64_t v) { return std::max<std::int64_t>(0, v); }

notify::preferences read_preferences(row_cursor& c) {
  notify::preferences p;
  p.email = c.boolean();
  p.push = c.boolean();
  p.mention = c.boolean();
  p.dm = c.boolean();
  p.created_at = c.opt_time().value_or(timestamp{});
  p.updated_at = c.opt_time().value_or(timestamp{});
  return p;
}

notify::notification read_notification(row_cursor& c) {
  notify::notification n;
  n.id = notification_id{c.id()};
  n.recipient = user_id{c.id()};
  const auto type = c.text();
  const auto k = notify::parse_kind(type);
  if (!k) throw pg_error("postgres: malformed notification type '" + type + "'");
  n.type = *k;
  n.channel = channel_id{c.id()};
  n.message = message_id{c.id()};
  if (auto a = c.opt_id()) n.actor = user_id{*a};
  n.text = c.text();
  n.count = c.integer();
  n.is_read = c.boolean();
  n.created_at = c.time();
  n.updated_at = c.time();
  return n;
}

notify::webhook read_webhook(row_cursor& c) {
  notify::webhook w;
  w.id = webhook_id{c.id()};
  w.owner = user_id{c.id()};
  w.url = c.text();
  w.secret = c.text();
  w.created_at = c.time();
  return w;
}

// The notification.created event of a new notification.
domain::events::record created_event(const notify::new_notification& n, timestamp at) {
  notify::notification made;
  made.id = n.id;
  made.recipient = n.recipient;
  made.type = n.type;
  made.channel = n.channel;
  made.message = n.message;
  made.actor = n.actor;
  return domain::events::notification_created(made, at);
}

pg_statement record_statement(event_id source, const notify::new_notification& n, timestamp window_start, timestamp now,
                              timestamp due) {
  const auto ev = created_event(n, now);
  pg_statement s(record_notification_sql, "notify_record");
  s.id(source).id(n.recipient).id(n.id).text(notify::to_string(n.type)).id(n.channel).id(n.message);
  s.id_or_null(n.actor).text(n.text).time(window_start).time(now).time(due).boolean(n.webhooks).boolean(n.email);
  s.id(ev.id).text(ev.topic).text(ev.key).text(ev.event_type).text(ev.payload);
  s.text_or_null(null_if_empty(ev.traceparent));
  return s;
}

// Cut to max_error_bytes on a character boundary, invalid UTF-8 and NUL
// bytes replaced: an error text comes from peers and must still be storable.
std::string storable_error(std::string_view in) {
  std::string out;
  out.reserve(std::min(in.size(), max_error_bytes));
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    std::size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    bool valid = len > 0 && b != 0 && i + len <= in.size();
    for (std::size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    const std::string_view piece = valid ? in.substr(i, len) : std::string_view("?");
    if (out.size() + piece.size() > max_error_bytes) break;
    out.append(piece);
    i += valid ? len : 1;
  }
  return out;
}

}  // namespace

task<std::vector<domain::user>> pg_notifications::users_named(std::vector<std::string> usernames) {
  if (usernames.empty()) co_return std::vector<domain::user>{};
  array_literal names;
  for (const auto& n : usernames) names.add(n);
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(users_named_sql, "notify_users_named").text(names.str())),
                            "postgres: users_named");
  co_return read_all<domain::user>(r, detail::read_user);
}

task<std::optional<notify::preferences>> pg_notifications::preferences_of(user_id u) {
  auto r =
      co_await run_one(*pool_, timeout_, std::move(pg_statement(preferences_of_sql, "notify_preferences_of").id(u)),
                       "postgres: preferences_of");
  if (r.rows() == 0) co_return std::nullopt;
  row_cursor c(r, 0);
  co_return read_preferences(c);
}

task<std::optional<notify::preferences>> pg_notifications::update_preferences(user_id u, notify::preferences_update p) {
  pg_statement s(update_preferences_sql, "notify_update_preferences");
  s.id(u).id(uuid::v7());
  for (const auto& v : {p.email, p.push, p.mention, p.dm}) {
    if (v)
      s.boolean(*v);
    else
      s.null();
  }
  s.time(p.now);
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: update_preferences");
  if (r.rows() == 0) co_return std::nullopt;
  row_cursor c(r, 0);
  co_return read_preferences(c);
}

task<bool> pg_notifications::set_muted(channel_id ch, user_id u, bool muted) {
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(set_muted_sql, "notify_set_muted").id(ch).id(u).boolean(muted)),
                            "postgres: set_muted");
  co_return r.affected() > 0;
}

task<std::optional<bool>> pg_notifications::muted(channel_id ch, user_id u) {
  auto r = co_await run_one(*pool_, timeout_, std::move(pg_statement(muted_sql, "notify_muted").id(ch).id(u)),
                            "postgres: muted");
  if (r.rows() == 0) co_return std::nullopt;
  row_cursor c(r, 0);
  co_return c.boolean();
}

task<domain::channel> pg_notifications::open_direct(domain::new_direct d) {
  // The pair in the order of the ids' text, as SQLite orders it (uuid order agrees).
  const bool a_first = d.a.str() < d.b.str();
  const auto& low = a_first ? d.a : d.b;
  const auto& high = a_first ? d.b : d.a;

  domain::channel made;
  made.id = d.id;
  made.name = d.name;
  made.is_private = true;
  const domain::events::record events[] = {
      domain::events::channel_event("channel.created", made, d.a, d.now),
      domain::events::member_event("member.added", d.id, d.a, "member", d.a, d.now),
      domain::events::member_event("member.added", d.id, d.b, "member", d.a, d.now)};
  array_literal ids, topics, keys, types, payloads;
  for (const auto& e : events) {
    ids.add(e.id.str());
    topics.add(e.topic);
    keys.add(e.key);
    types.add(e.event_type);
    payloads.add(e.payload);
  }
  pg_statement create(create_direct_sql, "notify_create_direct");
  create.id(low).id(high).id(d.id).text(d.name).id(d.a).id(d.a_membership).id(d.b).id(d.b_membership).time(d.now);
  for (const auto* a : {&ids, &topics, &keys, &types, &payloads}) create.text(a->str());
  // One request wrote all three: they share its span.
  create.text_or_null(null_if_empty(events[0].traceparent));
  std::vector<pg_statement> statements;
  statements.push_back(std::move(create));
  // A separate statement sees the row a concurrent open committed meanwhile.
  statements.push_back(std::move(pg_statement(find_direct_sql, "notify_find_direct").id(low).id(high).id(d.a)));
  auto results = co_await run_transaction(*pool_, timeout_, std::move(statements), "postgres: open_direct");
  if (results[1].rows() == 0) throw pg_error("postgres: open_direct: the conversation vanished");
  row_cursor c(results[1], 0);
  co_return detail::read_channel(c);
}

task<std::optional<notify::channel_info>> pg_notifications::channel_info(channel_id ch) {
  auto r = co_await run_one(*pool_, timeout_, std::move(pg_statement(channel_info_sql, "notify_channel_info").id(ch)),
                            "postgres: channel_info");
  if (r.rows() == 0) co_return std::nullopt;
  row_cursor c(r, 0);
  notify::channel_info i;
  i.id = channel_id{c.id()};
  i.name = c.text();
  i.is_private = c.boolean();
  i.is_direct = c.boolean();
  co_return i;
}

task<std::vector<notify::audience_member>> pg_notifications::audience(channel_id ch,
                                                                      std::optional<std::vector<user_id>> only) {
  pg_statement s(audience_sql, "notify_audience");
  s.id(ch);
  if (only) {
    array_literal users;
    for (const auto& u : *only) users.add(u.str());
    s.text(users.str());
  } else {
    s.null();
  }
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: audience");
  co_return read_all<notify::audience_member>(r, [](row_cursor& c) {
    notify::audience_member m;
    m.user = user_id{c.id()};
    m.username = c.text();
    m.email = c.text();
    m.member_role = domain::parse_role(c.text()).value_or(domain::role::member);
    m.muted = c.boolean();
    m.prefs = read_preferences(c);
    return m;
  });
}

task<std::vector<user_id>> pg_notifications::thread_participants(message_id root) {
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(thread_participants_sql, "notify_thread_participants").id(root)),
                            "postgres: thread_participants");
  co_return read_all<user_id>(r, [](row_cursor& c) { return user_id{c.id()}; });
}

task<notify::webhook> pg_notifications::create_webhook(notify::webhook w) {
  pg_statement s(create_webhook_sql, "notify_create_webhook");
  s.id(w.id).id(w.owner).text(w.url).text(w.secret).time(w.created_at);
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: create_webhook");
  row_cursor c(r, 0);
  co_return read_webhook(c);
}

task<std::vector<notify::webhook>> pg_notifications::list_webhooks(user_id owner) {
  auto r =
      co_await run_one(*pool_, timeout_, std::move(pg_statement(list_webhooks_sql, "notify_list_webhooks").id(owner)),
                       "postgres: list_webhooks");
  co_return read_all<notify::webhook>(r, read_webhook);
}

task<std::int64_t> pg_notifications::count_webhooks(user_id owner) {
  auto r =
      co_await run_one(*pool_, timeout_, std::move(pg_statement(count_webhooks_sql, "notify_count_webhooks").id(owner)),
                       "postgres: count_webhooks");
  row_cursor c(r, 0);
  co_return c.integer();
}

task<bool> pg_notifications::delete_webhook(user_id owner, webhook_id id) {
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(delete_webhook_sql, "notify_delete_webhook").id(owner).id(id)),
                            "postgres: delete_webhook");
  co_return r.affected() > 0;
}

task<std::vector<notify::recorded>> pg_notifications::record_notifications(event_id source,
                                                                           std::vector<notify::new_notification> ns,
                                                                           std::chrono::milliseconds coalesce_window,
                                                                           std::chrono::milliseconds delivery_delay,
                                                                           timestamp now) {
  if (ns.empty()) co_return std::vector<notify::recorded>{};
  const auto window_start = now - std::chrono::duration_cast<timestamp::duration>(coalesce_window);
  const auto due = now + std::chrono::duration_cast<timestamp::duration>(delivery_delay);
  array_literal recipients;
  for (const auto& n : ns) recipients.add(n.recipient.str());
  std::vector<pg_statement> statements;
  statements.reserve(ns.size() + 1);
  statements.push_back(std::move(pg_statement(lock_recipients_sql, "notify_lock_recipients").text(recipients.str())));
  for (const auto& n : ns) statements.push_back(record_statement(source, n, window_start, now, due));
  auto results = co_await run_transaction(*pool_, timeout_, std::move(statements), "postgres: record_notifications");

  std::vector<notify::recorded> out;
  out.reserve(ns.size());
  for (std::size_t i = 0; i < ns.size(); ++i) {
    const auto& r = results[i + 1];
    // Only a receipt inserted outside the recipient's lock could leave no row.
    if (r.rows() != 1) throw pg_error("postgres: record_notifications: a receipt was written concurrently");
    row_cursor c(r, 0);
    const auto outcome = c.text();
    notify::recorded rec;
    rec.n = read_notification(c);
    rec.outcome = outcome == "created"  ? notify::record_outcome::created
                  : outcome == "folded" ? notify::record_outcome::folded
                                        : notify::record_outcome::duplicate;
    out.push_back(std::move(rec));
  }
  co_return out;
}

task<notify::notification_page> pg_notifications::list_notifications(user_id u, std::int64_t skip, std::int64_t limit) {
  std::vector<pg_statement> statements;
  statements.push_back(std::move(pg_statement(list_notifications_sql, "notify_list_notifications")
                                     .id(u)
                                     .integer(non_negative(limit))
                                     .integer(non_negative(skip))));
  statements.push_back(std::move(pg_statement(unread_count_sql, "notify_unread_count").id(u)));
  // One transaction: the count matches the page.
  auto results = co_await run_transaction(*pool_, timeout_, std::move(statements), "postgres: list_notifications");
  notify::notification_page page;
  page.items = read_all<notify::notification>(results[0], read_notification);
  row_cursor c(results[1], 0);
  page.unread_count = c.integer();
  co_return page;
}

task<std::optional<notify::notification>> pg_notifications::mark_notification_read(user_id u, notification_id id,
                                                                                   timestamp now) {
  pg_statement s(mark_notification_read_sql, "notify_mark_read");
  s.id(u).id(id).time(now);
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: mark_notification_read");
  if (r.rows() == 0) co_return std::nullopt;
  row_cursor c(r, 0);
  co_return read_notification(c);
}

task<std::int64_t> pg_notifications::mark_all_notifications_read(user_id u, timestamp now) {
  auto r = co_await run_one(*pool_, timeout_,
                            std::move(pg_statement(mark_all_read_sql, "notify_mark_all_read").id(u).time(now)),
                            "postgres: mark_all_notifications_read");
  co_return r.affected();
}

task<std::vector<notify::delivery>> pg_notifications::claim_deliveries(timestamp now, timestamp lease_until,
                                                                       std::size_t limit) {
  if (limit == 0) co_return std::vector<notify::delivery>{};
  pg_statement s(claim_deliveries_sql, "notify_claim_deliveries");
  s.time(now).time(lease_until).integer(static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
  auto r = co_await run_one(*pool_, timeout_, std::move(s), "postgres: claim_deliveries");
  co_return read_all<notify::delivery>(r, [](row_cursor& c) {
    notify::delivery d;
    d.id = delivery_id{c.id()};
    d.channel = c.text() == "email" ? notify::delivery_channel::email : notify::delivery_channel::webhook;
    d.target = c.text();
    d.secret = c.text();
    d.attempts = static_cast<int>(c.integer());
    d.n = read_notification(c);
    d.recipient_name = c.text();
    d.actor_name = c.text();
    d.channel_name = c.text();
    return d;
  });
}

task<void> pg_notifications::delivery_sent(delivery_id id, timestamp now) {
  co_await run_one(*pool_, timeout_,
                   std::move(pg_statement(delivery_sent_sql, "notify_delivery_sent").id(id).time(now)),
                   "postgres: delivery_sent");
}

task<void> pg_notifications::delivery_retry(delivery_id id, timestamp next, std::string error) {
  pg_statement s(delivery_retry_sql, "notify_delivery_retry");
  s.id(id).time(next).text(storable_error(error));
  co_await run_one(*pool_, timeout_, std::move(s), "postgres: delivery_retry");
}

task<void> pg_notifications::delivery_failed(delivery_id id, std::string error, timestamp now) {
  pg_statement s(delivery_failed_sql, "notify_delivery_failed");
  s.id(id).text(storable_error(error)).time(now);
  co_await run_one(*pool_, timeout_, std::move(s), "postgres: delivery_failed");
}

task<std::int64_t> pg_notifications::pending_deliveries() {
  auto r = co_await run_one(*pool_, timeout_, pg_statement(pending_deliveries_sql, "notify_pending_deliveries"),
                            "postgres: pending_deliveries");
  row_cursor c(r, 0);
  co_return c.integer();
}

}  // namespace sl::storage::postgres
