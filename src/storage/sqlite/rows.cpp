#include "storage/sqlite/rows.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace sl::storage::sqlite::rows {
namespace {

template <typename Id>
Id id_at(const statement& s, int col) {
  auto parsed = Id::parse(s.text(col));
  return parsed ? *parsed : Id{};
}

template <typename Id>
std::optional<Id> opt_id_at(const statement& s, int col) {
  if (s.is_null(col)) return std::nullopt;
  return Id::parse(s.text(col));
}

}  // namespace

std::int64_t micros(timestamp t) { return to_unix_micros(t); }

timestamp time_at(const statement& s, int col) { return from_unix_micros(s.int64(col)); }

std::string metadata_text(const boost::json::value& v) { return boost::json::serialize(v); }

domain::user user_at(const statement& s, int c) {
  domain::user u;
  u.id = id_at<user_id>(s, c);
  u.username = s.text(c + 1);
  u.email = s.text(c + 2);
  u.full_name = s.opt_text(c + 3);
  u.avatar_url = s.opt_text(c + 4);
  u.is_active = s.boolean(c + 5);
  u.is_verified = s.boolean(c + 6);
  u.created_at = time_at(s, c + 7);
  u.updated_at = time_at(s, c + 8);
  if (!s.is_null(c + 9)) u.last_seen_at = time_at(s, c + 9);
  return u;
}

domain::channel channel_at(const statement& s, int c) {
  domain::channel ch;
  ch.id = id_at<channel_id>(s, c);
  ch.name = s.text(c + 1);
  ch.description = s.opt_text(c + 2);
  ch.is_private = s.boolean(c + 3);
  ch.created_by = opt_id_at<user_id>(s, c + 4);
  ch.created_at = time_at(s, c + 5);
  ch.updated_at = time_at(s, c + 6);
  ch.member_count = s.int64(c + 7);
  ch.message_count = s.int64(c + 8);
  ch.last_seq = s.int64(c + 9);
  if (!s.is_null(c + 10)) {
    ch.viewer_role = domain::parse_role(s.text(c + 10));
    ch.unread_count = std::max<std::int64_t>(0, ch.last_seq - s.int64(c + 11));
  }
  return ch;
}

domain::message message_at(const statement& s, int c) {
  domain::message m;
  m.id = id_at<message_id>(s, c);
  m.channel = id_at<channel_id>(s, c + 1);
  m.author = opt_id_at<user_id>(s, c + 2);
  m.content = s.text(c + 3);
  m.type = domain::parse_message_type(s.text(c + 4)).value_or(domain::message_type::text);
  if (auto meta = s.opt_text(c + 5)) {
    boost::system::error_code ec;
    auto v = boost::json::parse(*meta, ec);
    m.metadata = ec ? boost::json::value(nullptr) : std::move(v);
  }
  m.is_edited = s.boolean(c + 6);
  m.is_deleted = s.boolean(c + 7);
  m.created_at = time_at(s, c + 8);
  m.updated_at = time_at(s, c + 9);
  m.seq = s.int64(c + 10);
  m.parent = opt_id_at<message_id>(s, c + 11);
  m.client_msg_id = s.opt_text(c + 12);
  m.reply_count = s.int64(c + 13);
  if (!s.is_null(c + message_cols)) m.author_profile = user_at(s, c + message_cols);
  return m;
}

domain::member member_at(const statement& s, int c) {
  domain::member m;
  m.id = id_at<member_id>(s, c);
  m.channel = id_at<channel_id>(s, c + 1);
  m.user = id_at<user_id>(s, c + 2);
  m.member_role = domain::parse_role(s.text(c + 3)).value_or(domain::role::member);
  m.joined_at = time_at(s, c + 4);
  m.last_read_seq = s.int64(c + 5);
  m.profile = user_at(s, c + member_cols);
  return m;
}

}  // namespace sl::storage::sqlite::rows
