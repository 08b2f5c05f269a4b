#include "storage/postgres/detail/rows.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <charconv>

namespace sl::storage::postgres::detail {
namespace {

[[noreturn]] void malformed(std::string_view what, std::string_view text) {
  throw pg_error("postgres: malformed " + std::string(what) + " '" + std::string(text) + "'");
}

int digits(std::string_view text, std::size_t& pos, std::size_t n) {
  int v = 0;
  if (pos + n > text.size()) malformed("timestamp", text);
  for (std::size_t i = 0; i < n; ++i, ++pos) {
    const char ch = text[pos];
    if (ch < '0' || ch > '9') malformed("timestamp", text);
    v = v * 10 + (ch - '0');
  }
  return v;
}

void expect(std::string_view text, std::size_t& pos, char ch) {
  if (pos >= text.size() || text[pos] != ch) malformed("timestamp", text);
  ++pos;
}

}  // namespace

timestamp parse_pg_time(std::string_view text) {
  using namespace std::chrono;
  std::size_t pos = 0;
  const int y = digits(text, pos, 4);
  expect(text, pos, '-');
  const int mo = digits(text, pos, 2);
  expect(text, pos, '-');
  const int d = digits(text, pos, 2);
  expect(text, pos, ' ');
  const int h = digits(text, pos, 2);
  expect(text, pos, ':');
  const int mi = digits(text, pos, 2);
  expect(text, pos, ':');
  const int s = digits(text, pos, 2);
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 6) micros = micros * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    for (; n < 6; ++n) micros *= 10;
  }
  // The session runs in UTC, so the offset is always +00.
  if (text.substr(pos) != "+00") malformed("timestamp", text);
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) malformed("timestamp", text);
  return timestamp{sys_days{ymd}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} + microseconds{micros}};
}

std::string_view row_cursor::next() { return r_.text(row_, col_++); }

uuid row_cursor::id() {
  const auto t = next();
  auto u = uuid::parse(t);
  if (!u) malformed("uuid", t);
  return *u;
}

std::optional<uuid> row_cursor::opt_id() {
  if (null_next()) {
    skip();
    return std::nullopt;
  }
  return id();
}

std::string row_cursor::text() { return std::string(next()); }

std::optional<std::string> row_cursor::opt_text() {
  if (null_next()) {
    skip();
    return std::nullopt;
  }
  return text();
}

bool row_cursor::boolean() { return next() == "t"; }

std::int64_t row_cursor::integer() {
  const auto t = next();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (ec != std::errc() || end != t.data() + t.size()) malformed("integer", t);
  return v;
}

std::optional<std::int64_t> row_cursor::opt_integer() {
  if (null_next()) {
    skip();
    return std::nullopt;
  }
  return integer();
}

timestamp row_cursor::time() { return parse_pg_time(next()); }

std::optional<timestamp> row_cursor::opt_time() {
  if (null_next()) {
    skip();
    return std::nullopt;
  }
  return time();
}

boost::json::value row_cursor::json() {
  if (null_next()) {
    skip();
    return boost::json::value(nullptr);
  }
  const auto t = next();
  boost::system::error_code ec;
  auto v = boost::json::parse(t, ec);
  if (ec) malformed("json", t);
  return v;
}

domain::user read_user(row_cursor& c) {
  domain::user u;
  u.id = user_id{c.id()};
  u.username = c.text();
  u.email = c.text();
  u.full_name = c.opt_text();
  u.avatar_url = c.opt_text();
  u.is_active = c.boolean();
  u.is_verified = c.boolean();
  u.created_at = c.time();
  u.updated_at = c.time();
  u.last_seen_at = c.opt_time();
  return u;
}

std::optional<domain::user> read_opt_user(row_cursor& c) {
  if (c.null_next()) {
    c.skip(10);
    return std::nullopt;
  }
  return read_user(c);
}

domain::channel read_channel(row_cursor& c) {
  domain::channel ch;
  ch.id = channel_id{c.id()};
  ch.name = c.text();
  ch.description = c.opt_text();
  ch.is_private = c.boolean();
  if (auto by = c.opt_id()) ch.created_by = user_id{*by};
  ch.created_at = c.time();
  ch.updated_at = c.time();
  ch.member_count = c.integer();
  ch.message_count = c.integer();
  ch.last_seq = c.integer();
  if (auto r = c.opt_text()) ch.viewer_role = domain::parse_role(*r);
  const auto read = c.opt_integer();
  ch.unread_count = (ch.viewer_role && read) ? std::max<std::int64_t>(0, ch.last_seq - *read) : 0;
  return ch;
}

domain::member read_member(row_cursor& c) {
  domain::member m;
  m.id = member_id{c.id()};
  m.channel = channel_id{c.id()};
  m.user = user_id{c.id()};
  const auto r = c.text();
  m.member_role = domain::parse_role(r).value_or(domain::role::member);
  m.joined_at = c.time();
  m.last_read_seq = c.integer();
  m.profile = read_user(c);
  return m;
}

domain::message read_message(row_cursor& c) {
  domain::message m;
  m.id = message_id{c.id()};
  m.channel = channel_id{c.id()};
  if (auto a = c.opt_id()) m.author = user_id{*a};
  m.content = c.text();
  const auto type = c.text();
  m.type = domain::parse_message_type(type).value_or(domain::message_type::text);
  m.metadata = c.json();
  m.is_edited = c.boolean();
  m.is_deleted = c.boolean();
  m.created_at = c.time();
  m.updated_at = c.time();
  m.seq = c.integer();
  if (auto p = c.opt_id()) m.parent = message_id{*p};
  m.client_msg_id = c.opt_text();
  m.reply_count = c.integer();
  m.author_profile = read_opt_user(c);
  return m;
}

}  // namespace sl::storage::postgres::detail
