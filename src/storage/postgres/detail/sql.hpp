#pragma once
// The SQL of the PostgreSQL store, in one place. Column lists are fixed so
// that rows.hpp reads them by position. Every parameter is bound as text and
// cast here. Statement names (the second of each pair) identify the prepared
// statement on each connection.

namespace sl::storage::postgres::sql {

// 10 columns, read by read_user().
#define SL_PG_USER_COLUMNS                                                                                         \
  "u.id, u.username, u.email, u.full_name, u.avatar_url, u.is_active, u.is_verified, u.created_at, u.updated_at, " \
  "u.last_seen_at"
// 14 columns, then SL_PG_USER_COLUMNS of the author (NULLs when gone): read_message().
#define SL_PG_MESSAGE_COLUMNS                                                                         \
  "m.id, m.channel_id, m.user_id, m.content, m.message_type, m.metadata, m.is_edited, m.is_deleted, " \
  "m.created_at, m.updated_at, m.seq, m.parent_id, m.client_msg_id, m.reply_count, " SL_PG_USER_COLUMNS
// 10 columns of c, then the viewer's membership vm (role, last_read_seq): read_channel().
#define SL_PG_CHANNEL_COLUMNS                                                                             \
  "c.id, c.name, c.description, c.is_private, c.created_by, c.created_at, c.updated_at, c.member_count, " \
  "c.message_count, c.last_seq, vm.role, vm.last_read_seq"
// 6 columns of cm, then SL_PG_USER_COLUMNS: read_member().
#define SL_PG_MEMBER_COLUMNS \
  "cm.id, cm.channel_id, cm.user_id, cm.role, cm.joined_at, cm.last_read_seq, " SL_PG_USER_COLUMNS
// The last column is the writer's span (domain/events.hpp record::traceparent), NULL for none.
#define SL_PG_OUTBOX_INSERT \
  "INSERT INTO outbox (event_id, topic, event_key, event_type, payload, created_at, traceparent) "

inline constexpr const char* begin = "BEGIN";
inline constexpr const char* commit = "COMMIT";
inline constexpr const char* rollback = "ROLLBACK";
inline constexpr const char* ping = "SELECT 1";

// $1 event_id, $2 topic, $3 key, $4 type, $5 payload, $6 created_at, $7 traceparent or NULL
inline constexpr const char* insert_outbox =
    SL_PG_OUTBOX_INSERT "VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz, $7)";

// $1 id, $2 username, $3 email, $4 hash, $5 full_name, $6 now, $7 preferences id, $8..$14 outbox
inline constexpr const char* create_user =
    "WITH u AS (INSERT INTO users (id, username, email, hashed_password, full_name, created_at, updated_at) "
    "  VALUES ($1::uuid, $2, $3, $4, $5, $6::timestamptz, $6::timestamptz) RETURNING *), "
    "np AS (INSERT INTO notification_preferences (id, user_id, created_at, updated_at) "
    "  SELECT $7::uuid, u.id, u.created_at, u.created_at FROM u), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT $8::uuid, $9, $10, $11, $12, $13::timestamptz, $14::text FROM u) "
    "SELECT " SL_PG_USER_COLUMNS " FROM u";

inline constexpr const char* find_user = "SELECT " SL_PG_USER_COLUMNS " FROM users u WHERE u.id = $1::uuid";
inline constexpr const char* find_user_by_username = "SELECT " SL_PG_USER_COLUMNS " FROM users u WHERE u.username = $1";
// The username wins over another account's email.
inline constexpr const char* find_login = "SELECT " SL_PG_USER_COLUMNS
                                          ", u.hashed_password FROM users u "
                                          "WHERE u.username = $1 OR lower(u.email) = lower($1 COLLATE \"C\") "
                                          "ORDER BY (u.username = $1) DESC LIMIT 1";
// strpos, not LIKE: `%` and `_` in the query are plain characters.
inline constexpr const char* search_users = "SELECT " SL_PG_USER_COLUMNS
                                            " FROM users u "
                                            "WHERE strpos(lower(u.username), lower($1 COLLATE \"C\")) > 0 "
                                            "   OR strpos(lower(u.email), lower($1 COLLATE \"C\")) > 0 "
                                            "ORDER BY u.username, u.id LIMIT $2::bigint OFFSET $3::bigint";
// $2/$4: whether to set full_name/avatar_url to $3/$5.
inline constexpr const char* update_profile =
    "WITH u AS (UPDATE users SET "
    "  full_name = CASE WHEN $2::boolean THEN $3 ELSE full_name END, "
    "  avatar_url = CASE WHEN $4::boolean THEN $5 ELSE avatar_url END, "
    "  updated_at = $6::timestamptz "
    "  WHERE id = $1::uuid RETURNING *) "
    "SELECT " SL_PG_USER_COLUMNS " FROM u";
inline constexpr const char* touch_last_seen = "UPDATE users SET last_seen_at = $2::timestamptz WHERE id = $1::uuid";

inline constexpr const char* create_session =
    "INSERT INTO user_sessions (id, user_id, token_jti, expires_at, created_at, user_agent, ip_address) "
    "VALUES ($1::uuid, $2::uuid, $3, $4::timestamptz, $5::timestamptz, $6, $7)";
inline constexpr const char* revoke_session =
    "UPDATE user_sessions SET is_revoked = true, revoked_at = $2::timestamptz "
    "WHERE token_jti = $1 AND NOT is_revoked";
inline constexpr const char* revoked_since =
    "SELECT token_jti, revoked_at FROM user_sessions WHERE revoked_at >= $1::timestamptz "
    "ORDER BY revoked_at, token_jti";

// $1 id, $2 name, $3 description, $4 private, $5 creator, $6 now, $7 owner membership id, $8..$14 outbox
inline constexpr const char* create_channel =
    "WITH c AS (INSERT INTO channels (id, name, description, is_private, created_by, created_at, updated_at, "
    "    member_count) "
    "  VALUES ($1::uuid, $2, $3, $4::boolean, $5::uuid, $6::timestamptz, $6::timestamptz, 1) RETURNING *), "
    "vm AS (INSERT INTO channel_members (id, channel_id, user_id, role, joined_at) "
    "  SELECT $7::uuid, c.id, $5::uuid, 'owner', c.created_at FROM c RETURNING *), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT $8::uuid, $9, $10, $11, $12, $13::timestamptz, $14::text FROM c) "
    "SELECT " SL_PG_CHANNEL_COLUMNS " FROM c JOIN vm ON vm.channel_id = c.id";
// $1 channel, $2 viewer
inline constexpr const char* find_channel =
    "SELECT " SL_PG_CHANNEL_COLUMNS
    " FROM channels c "
    "LEFT JOIN channel_members vm ON vm.channel_id = c.id AND vm.user_id = $2::uuid WHERE c.id = $1::uuid";
// $1 viewer, $2 limit, $3 offset
inline constexpr const char* list_channels =
    "SELECT " SL_PG_CHANNEL_COLUMNS
    " FROM channels c "
    "LEFT JOIN channel_members vm ON vm.channel_id = c.id AND vm.user_id = $1::uuid "
    "WHERE NOT c.is_private OR vm.id IS NOT NULL ORDER BY c.id LIMIT $2::bigint OFFSET $3::bigint";
// $1 id, $2 name or NULL, $3 set description?, $4 description, $5 private or NULL, $6 now, $7 viewer
inline constexpr const char* update_channel =
    "WITH c AS (UPDATE channels SET name = COALESCE($2, name), "
    "  description = CASE WHEN $3::boolean THEN $4 ELSE description END, "
    "  is_private = COALESCE($5::boolean, is_private), updated_at = $6::timestamptz "
    "  WHERE id = $1::uuid RETURNING *) "
    "SELECT " SL_PG_CHANNEL_COLUMNS
    " FROM c "
    "LEFT JOIN channel_members vm ON vm.channel_id = c.id AND vm.user_id = $7::uuid";
inline constexpr const char* delete_channel = "DELETE FROM channels WHERE id = $1::uuid RETURNING id, name, is_private";

inline constexpr const char* member_role =
    "SELECT role FROM channel_members WHERE channel_id = $1::uuid AND user_id = $2::uuid";
// $1 id, $2 channel, $3 user, $4 role, $5 now, $6..$12 outbox
inline constexpr const char* add_member =
    "WITH ins AS (INSERT INTO channel_members (id, channel_id, user_id, role, joined_at) "
    "  VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5::timestamptz) "
    "  ON CONFLICT (channel_id, user_id) DO NOTHING RETURNING *), "
    "ch AS (UPDATE channels SET member_count = member_count + 1 WHERE id IN (SELECT channel_id FROM ins)), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT $6::uuid, $7, $8, $9, $10, $11::timestamptz, $12::text FROM ins) "
    "SELECT " SL_PG_MEMBER_COLUMNS " FROM ins cm JOIN users u ON u.id = cm.user_id";
inline constexpr const char* list_members = "SELECT " SL_PG_MEMBER_COLUMNS
                                            " FROM channel_members cm JOIN users u ON u.id = cm.user_id "
                                            "WHERE cm.channel_id = $1::uuid ORDER BY cm.joined_at, cm.id";
inline constexpr const char* remove_member =
    "DELETE FROM channel_members WHERE channel_id = $1::uuid AND user_id = $2::uuid RETURNING role";
inline constexpr const char* decrement_members =
    "UPDATE channels SET member_count = member_count - 1 WHERE id = $1::uuid";
// $1 channel, $2 user, $3 seq: forward only, never past the channel's last_seq.
inline constexpr const char* mark_read =
    "UPDATE channel_members cm SET last_read_seq = LEAST($3::bigint, c.last_seq) FROM channels c "
    "WHERE c.id = cm.channel_id AND cm.channel_id = $1::uuid AND cm.user_id = $2::uuid "
    "  AND LEAST($3::bigint, c.last_seq) > cm.last_read_seq";

// One message, atomic on its own: the group commit's fallback when a batch
// fails (see create_messages). Returns one row: a status ('created',
// 'duplicate', 'no_channel', 'not_member', 'no_parent'), then the message and
// its author (NULLs unless created or duplicate). The checks run in the
// statement so that a send costs no extra round trip.
// $1 id, $2 channel, $3 author, $4 content, $5 type, $6 metadata, $7 parent,
// $8 client_msg_id, $9 now, $10..$13 outbox id/topic/key/type, $14/$15 the
// payload's text before/after its seq value, $16 mentions (uuid[]; NULL: none),
// $17 the event's traceparent or NULL.
inline constexpr const char* create_message =
    "WITH existing AS (SELECT * FROM messages "
    "  WHERE $8::text IS NOT NULL AND user_id = $3::uuid AND client_msg_id = $8::text), "
    "member AS (SELECT 1 FROM channel_members WHERE channel_id = $2::uuid AND user_id = $3::uuid), "
    "parent AS (SELECT 1 FROM messages p "
    "  WHERE p.id = $7::uuid AND p.channel_id = $2::uuid AND NOT p.is_deleted), "
    "ch AS (UPDATE channels SET last_seq = last_seq + 1, message_count = message_count + 1 "
    "  WHERE id = $2::uuid AND NOT EXISTS (SELECT 1 FROM existing) AND EXISTS (SELECT 1 FROM member) "
    "    AND ($7::uuid IS NULL OR EXISTS (SELECT 1 FROM parent)) RETURNING last_seq), "
    "ins AS (INSERT INTO messages (id, channel_id, user_id, content, message_type, metadata, created_at, "
    "    updated_at, seq, parent_id, client_msg_id, mentions) "
    "  SELECT $1::uuid, $2::uuid, $3::uuid, $4, $5, $6::jsonb, $9::timestamptz, $9::timestamptz, ch.last_seq, "
    "    $7::uuid, $8::text, coalesce($16::uuid[], '{}') FROM ch RETURNING *), "
    "par AS (UPDATE messages SET reply_count = reply_count + 1 "
    "  WHERE id = $7::uuid AND EXISTS (SELECT 1 FROM ins)), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT $10::uuid, $11, $12, $13, $14 || ins.seq::text || $15, $9::timestamptz, $17::text "
    "  FROM ins), "
    "status AS (SELECT CASE "
    "  WHEN EXISTS (SELECT 1 FROM ins) THEN 'created' "
    "  WHEN EXISTS (SELECT 1 FROM existing) THEN 'duplicate' "
    "  WHEN NOT EXISTS (SELECT 1 FROM channels WHERE id = $2::uuid) THEN 'no_channel' "
    "  WHEN NOT EXISTS (SELECT 1 FROM member) THEN 'not_member' "
    "  ELSE 'no_parent' END AS s) "
    "SELECT status.s, " SL_PG_MESSAGE_COLUMNS
    " FROM status "
    "LEFT JOIN (SELECT * FROM ins UNION ALL SELECT * FROM existing) m ON true "
    "LEFT JOIN users u ON u.id = m.user_id";
inline constexpr const char* client_msg_constraint = "ux_messages_client_msg";

// A whole group commit in one statement, so that PostgreSQL sets up its
// executor once per batch rather than once per message. Each parameter is an
// array (detail/array_literal.hpp) with one element per message, in queue
// order: $1 id, $2 channel, $3 author, $4 content, $5 type, $6 metadata, $7
// parent, $8 client_msg_id (NULL elements: none), $9 now, $10..$13 outbox
// id/topic/key/type, $14/$15 the payload's text before/after its seq, $16
// mentions (each element a uuid[] literal; NULL: none, the common case), $17
// the events' traceparents (NULL elements: none).
// Returns one row per message in queue order, with create_message's columns
// and statuses, each message decided as create_message alone would decide it
// (chk). The checks are scalar subqueries, each matching at most one row by a
// unique key: the planner may turn an EXISTS into a hash of the whole table
// per batch, these stay one index probe per message.
// Each channel's counters move once, by its number of new messages (ch), and
// those take the following seqs in queue order. The channel rows are locked
// in id order first (lk), so batches sharing channels queue on the first
// shared one instead of deadlocking. A channel deleted between the checks and
// its lock turns its new messages into 'no_channel'. Two new messages with one
// (author, client_msg_id) fail the whole statement on client_msg_constraint.
// The outbox rows are inserted in queue order, so their ids follow each
// channel's seqs.
inline constexpr const char* create_messages =
    "WITH t AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], "
    "    $7::uuid[], $8::text[], $9::timestamptz[], $10::uuid[], $11::text[], $12::text[], $13::text[], $14::text[], "
    "    $15::text[], $16::text[], $17::text[]) "
    "  WITH ORDINALITY AS t(id, channel_id, user_id, content, message_type, metadata, parent_id, client_msg_id, at, "
    "    event_id, topic, event_key, event_type, payload_head, payload_tail, mentions, traceparent, ord)), "
    "chk AS (SELECT t.*, e.id AS existing_id, CASE "
    "    WHEN e.id IS NOT NULL THEN 'duplicate' "
    "    WHEN (SELECT c.id FROM channels c WHERE c.id = t.channel_id) IS NULL THEN 'no_channel' "
    "    WHEN (SELECT cm.id FROM channel_members cm "
    "      WHERE cm.channel_id = t.channel_id AND cm.user_id = t.user_id) IS NULL THEN 'not_member' "
    "    WHEN t.parent_id IS NOT NULL AND (SELECT p.id FROM messages p "
    "      WHERE p.id = t.parent_id AND p.channel_id = t.channel_id AND NOT p.is_deleted) IS NULL THEN 'no_parent' "
    "    ELSE 'new' END AS status "
    "  FROM t LEFT JOIN messages e ON e.user_id = t.user_id AND e.client_msg_id = t.client_msg_id), "
    "cnt AS (SELECT channel_id, count(*) AS n FROM chk WHERE status = 'new' GROUP BY channel_id), "
    "lk AS (SELECT c.id FROM channels c WHERE c.id IN (SELECT channel_id FROM cnt) ORDER BY c.id "
    "  FOR NO KEY UPDATE), "
    "ch AS (UPDATE channels c SET last_seq = c.last_seq + cnt.n, message_count = c.message_count + cnt.n "
    "  FROM lk JOIN cnt ON cnt.channel_id = lk.id WHERE c.id = lk.id RETURNING c.id, c.last_seq - cnt.n AS base), "
    "ins AS (INSERT INTO messages (id, channel_id, user_id, content, message_type, metadata, created_at, "
    "    updated_at, seq, parent_id, client_msg_id, mentions) "
    "  SELECT n.id, n.channel_id, n.user_id, n.content, n.message_type, n.metadata, n.at, n.at, "
    "    ch.base + row_number() OVER (PARTITION BY n.channel_id ORDER BY n.ord), n.parent_id, n.client_msg_id, "
    "    coalesce(n.mentions::uuid[], '{}') "
    "  FROM chk n JOIN ch ON ch.id = n.channel_id WHERE n.status = 'new' RETURNING *), "
    "par AS (UPDATE messages p SET reply_count = p.reply_count + r.n "
    "  FROM (SELECT parent_id, count(*) AS n FROM ins WHERE parent_id IS NOT NULL GROUP BY parent_id) r "
    "  WHERE p.id = r.parent_id), "
    "ob AS (" SL_PG_OUTBOX_INSERT
    "SELECT n.event_id, n.topic, n.event_key, n.event_type, n.payload_head || i.seq::text || n.payload_tail, n.at, "
    "  n.traceparent "
    "  FROM ins i JOIN chk n ON n.id = i.id ORDER BY n.ord) "
    "SELECT CASE WHEN n.status <> 'new' THEN n.status WHEN m.id IS NOT NULL THEN 'created' ELSE 'no_channel' "
    "END, " SL_PG_MESSAGE_COLUMNS
    " FROM chk n "
    "LEFT JOIN (SELECT * FROM ins UNION ALL SELECT * FROM messages WHERE id IN (SELECT existing_id FROM chk)) m "
    "  ON m.id = CASE n.status WHEN 'new' THEN n.id WHEN 'duplicate' THEN n.existing_id END "
    "LEFT JOIN users u ON u.id = m.user_id "
    "ORDER BY n.ord";

inline constexpr const char* find_message =
    "SELECT " SL_PG_MESSAGE_COLUMNS " FROM messages m LEFT JOIN users u ON u.id = m.user_id WHERE m.id = $1::uuid";
// $1 channel, $2 before_seq or NULL, $3 limit, $4 offset; newest first.
inline constexpr const char* list_messages_newest =
    "SELECT " SL_PG_MESSAGE_COLUMNS
    " FROM messages m LEFT JOIN users u ON u.id = m.user_id "
    "WHERE m.channel_id = $1::uuid AND NOT m.is_deleted AND ($2::bigint IS NULL OR m.seq < $2::bigint) "
    "ORDER BY m.seq DESC LIMIT $3::bigint OFFSET $4::bigint";
// $1 channel, $2 after_seq, $3 before_seq or NULL, $4 limit, $5 offset; oldest first.
inline constexpr const char* list_messages_after =
    "SELECT " SL_PG_MESSAGE_COLUMNS
    " FROM messages m LEFT JOIN users u ON u.id = m.user_id "
    "WHERE m.channel_id = $1::uuid AND NOT m.is_deleted AND m.seq > $2::bigint "
    "  AND ($3::bigint IS NULL OR m.seq < $3::bigint) "
    "ORDER BY m.seq LIMIT $4::bigint OFFSET $5::bigint";
inline constexpr const char* list_replies =
    "SELECT " SL_PG_MESSAGE_COLUMNS
    " FROM messages m LEFT JOIN users u ON u.id = m.user_id "
    "WHERE m.parent_id = $1::uuid AND NOT m.is_deleted ORDER BY m.seq LIMIT $2::bigint OFFSET $3::bigint";
// $1 id, $2 content, $3 now
inline constexpr const char* edit_message =
    "WITH m AS (UPDATE messages SET content = $2, is_edited = true, updated_at = $3::timestamptz "
    "  WHERE id = $1::uuid AND NOT is_deleted RETURNING *) "
    "SELECT " SL_PG_MESSAGE_COLUMNS " FROM m LEFT JOIN users u ON u.id = m.user_id";
// $1 id, $2 now. Un-counts the message from its channel and its thread root.
inline constexpr const char* delete_message =
    "WITH m AS (UPDATE messages SET is_deleted = true, updated_at = $2::timestamptz "
    "  WHERE id = $1::uuid AND NOT is_deleted RETURNING *), "
    "c AS (UPDATE channels SET message_count = message_count - 1 "
    "  WHERE id IN (SELECT channel_id FROM m) AND message_count > 0), "
    "p AS (UPDATE messages SET reply_count = reply_count - 1 "
    "  WHERE id IN (SELECT parent_id FROM m) AND reply_count > 0) "
    "SELECT " SL_PG_MESSAGE_COLUMNS " FROM m LEFT JOIN users u ON u.id = m.user_id";

// ---- outbox, database log, consumer groups (domain/outbox_store.hpp) ----

#define SL_PG_LOG_COLUMNS "event_id, topic, event_key, event_type, payload, created_at, traceparent"
// $1 holder, $2 ttl in ms. A row comes back only when the holder holds the lease.
inline constexpr const char* hold_relay_lease =
    "INSERT INTO relay_lease (id, holder, expires_at) "
    "VALUES (1, $1, clock_timestamp() + $2::bigint * interval '1 millisecond') "
    "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE relay_lease.holder = excluded.holder OR relay_lease.expires_at < clock_timestamp() "
    "RETURNING holder";
// $1 holder
inline constexpr const char* release_relay_lease = "DELETE FROM relay_lease WHERE id = 1 AND holder = $1";
// $1 limit. Rows of transactions older than every running one only: a row a
// running transaction could precede is not read yet.
inline constexpr const char* unpublished_outbox =
    "SELECT id, " SL_PG_LOG_COLUMNS
    " FROM outbox WHERE published_at IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot()) "
    "ORDER BY id LIMIT $1::bigint";
// The backlog the metrics report: the unpublished rows this statement's
// snapshot sees (committed ones, those unpublished_outbox still holds back
// behind a running transaction included), counted up to a million so a huge
// backlog costs a bounded scan.
inline constexpr const char* pending_outbox =
    "SELECT count(*), (SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1) "
    "FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT 1000000) AS pending";
// $1 ids (bigint[], in order), $2 now. Positions continue from the greatest.
inline constexpr const char* mark_published =
    "WITH base AS (SELECT coalesce(max(position), 0) AS p FROM outbox), "
    "ordered AS (SELECT id, ord FROM unnest($1::bigint[]) WITH ORDINALITY AS t(id, ord)) "
    "UPDATE outbox o SET published_at = $2::timestamptz, position = base.p + ordered.ord "
    "FROM base, ordered WHERE o.id = ordered.id AND o.published_at IS NULL";
// $1..$7 arrays: event ids, topics, keys, types, payloads, times, traceparents.
inline constexpr const char* append_outbox =
    "INSERT INTO outbox (" SL_PG_LOG_COLUMNS
    ") SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], "
    "  $7::text[]) "
    "ON CONFLICT (topic, event_id) DO NOTHING";
// $1 before
inline constexpr const char* prune_outbox = "DELETE FROM outbox WHERE published_at < $1::timestamptz";
// $1 topics, $2 after, $3 limit
inline constexpr const char* read_log =
    "SELECT position, " SL_PG_LOG_COLUMNS
    " FROM outbox WHERE position > $2::bigint AND topic = ANY($1::text[]) ORDER BY position LIMIT $3::bigint";
// $1 topics, $2 after. Unpublished rows count too (a group's lag).
inline constexpr const char* count_log =
    "SELECT count(*) FROM outbox WHERE (position > $2::bigint OR published_at IS NULL) AND topic = ANY($1::text[])";
// $1 group
inline constexpr const char* group_position = "SELECT position FROM consumer_offsets WHERE group_name = $1";
// $1 group, $2 position, $3 now. Never moves a group back.
inline constexpr const char* commit_group_position =
    "INSERT INTO consumer_offsets (group_name, position, updated_at) VALUES ($1, $2::bigint, $3::timestamptz) "
    "ON CONFLICT (group_name) DO UPDATE SET position = GREATEST(consumer_offsets.position, excluded.position), "
    "updated_at = excluded.updated_at";
// $1 group, $2 event ids
inline constexpr const char* processed_among =
    "SELECT event_id FROM consumer_events WHERE group_name = $1 AND event_id = ANY($2::uuid[])";
// $1 group, $2 event ids, $3 now
inline constexpr const char* record_processed =
    "INSERT INTO consumer_events (group_name, event_id, processed_at) "
    "SELECT $1, id, $3::timestamptz FROM unnest($2::uuid[]) AS t(id) ON CONFLICT DO NOTHING";
// $1 before
inline constexpr const char* prune_processed = "DELETE FROM consumer_events WHERE processed_at < $1::timestamptz";

}  // namespace sl::storage::postgres::sql
