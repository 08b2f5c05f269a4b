#pragma once
// Column lists and row readers shared by the SQLite queries. Each reader
// takes the index of the first column of its list.

#include "domain/model.hpp"
#include "storage/sqlite/connection.hpp"

namespace sl::storage::sqlite::rows {

#define SL_USER_COLS                                                                                               \
  "u.id, u.username, u.email, u.full_name, u.avatar_url, u.is_active, u.is_verified, u.created_at, u.updated_at, " \
  "u.last_seen_at"
inline constexpr int user_cols = 10;

#define SL_CHANNEL_COLS                                                                                   \
  "c.id, c.name, c.description, c.is_private, c.created_by, c.created_at, c.updated_at, c.member_count, " \
  "c.message_count, c.last_seq, cm.role, cm.last_read_seq"
inline constexpr int channel_cols = 12;

#define SL_MESSAGE_COLS                                                                                             \
  "m.id, m.channel_id, m.user_id, m.content, m.message_type, m.metadata, m.is_edited, m.is_deleted, m.created_at, " \
  "m.updated_at, m.seq, m.parent_id, m.client_msg_id, m.reply_count"
inline constexpr int message_cols = 14;

#define SL_MEMBER_COLS "cm.id, cm.channel_id, cm.user_id, cm.role, cm.joined_at, cm.last_read_seq"
inline constexpr int member_cols = 6;

timestamp time_at(const statement& s, int col);
domain::user user_at(const statement& s, int col);
domain::channel channel_at(const statement& s, int col);
// Followed by SL_USER_COLS of the author (LEFT JOIN: may be null).
domain::message message_at(const statement& s, int col);
// Followed by SL_USER_COLS of the member.
domain::member member_at(const statement& s, int col);

std::int64_t micros(timestamp t);
std::string metadata_text(const boost::json::value& v);

}  // namespace sl::storage::sqlite::rows
