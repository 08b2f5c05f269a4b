#include "broker/redis/detail/wire.hpp"

#include <array>
#include <charconv>

namespace sl::broker::redis::detail {
namespace {

using domain::broker_event_kind;

constexpr std::array<std::pair<broker_event_kind, std::string_view>, 9> kind_names{{
    {broker_event_kind::message_created, "message_created"},
    {broker_event_kind::message_updated, "message_updated"},
    {broker_event_kind::message_deleted, "message_deleted"},
    {broker_event_kind::typing, "typing"},
    {broker_event_kind::membership_ended, "membership_ended"},
    {broker_event_kind::channel_deleted, "channel_deleted"},
    {broker_event_kind::presence, "presence"},
    {broker_event_kind::notification, "notification"},
    {broker_event_kind::membership_started, "membership_started"},
}};

bool plain(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void put_id(std::string& out, const uuid& u) {
  if (u.is_nil())
    out += '-';
  else
    out += u.str();
}

std::optional<uuid> get_id(std::string_view text) {
  if (text == "-") return uuid();
  return uuid::parse(text);
}

std::optional<std::string> get_reason(std::string_view text) {
  if (text == "-") return std::string();
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (plain(static_cast<unsigned char>(c))) {
      out += c;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::string encode_event(const domain::broker_event& e) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(160 + (e.frame ? e.frame->size() : 0));
  out += "v1 ";
  std::string_view kind = "message_created";
  for (const auto& [k, name] : kind_names)
    if (k == e.kind) kind = name;
  out += kind;
  out += ' ';
  put_id(out, e.channel.value);
  out += ' ';
  out += std::to_string(e.seq);
  out += ' ';
  put_id(out, e.actor.value);
  out += e.status == domain::presence_status::offline ? " offline " : " online ";
  if (e.reason.empty()) {
    out += '-';
  } else {
    for (const char c : e.reason) {
      const auto u = static_cast<unsigned char>(c);
      if (plain(u)) {
        out += c;
      } else {
        out += '%';
        out += hex[u >> 4];
        out += hex[u & 0xF];
      }
    }
  }
  out += e.frame ? " 1\n" : " 0\n";
  if (e.frame) out += *e.frame;
  return out;
}

std::optional<domain::broker_event> decode_event(std::string_view payload) {
  const auto eol = payload.find('\n');
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view header = payload.substr(0, eol);
  const std::string_view body = payload.substr(eol + 1);

  std::array<std::string_view, 8> f;
  std::size_t n = 0;
  while (!header.empty()) {
    const auto sp = header.find(' ');
    const auto field = header.substr(0, sp);
    if (field.empty() || n == f.size()) return std::nullopt;
    f[n++] = field;
    if (sp == std::string_view::npos) break;
    header.remove_prefix(sp + 1);
    if (header.empty()) return std::nullopt;  // a trailing space
  }
  if (n != f.size() || f[0] != "v1") return std::nullopt;

  domain::broker_event e;
  bool known = false;
  for (const auto& [k, name] : kind_names) {
    if (name == f[1]) {
      e.kind = k;
      known = true;
    }
  }
  if (!known) return std::nullopt;
  const auto channel = get_id(f[2]);
  if (!channel) return std::nullopt;
  e.channel = channel_id{*channel};
  const auto* end = f[3].data() + f[3].size();
  auto [p, ec] = std::from_chars(f[3].data(), end, e.seq);
  if (ec != std::errc() || p != end) return std::nullopt;
  const auto actor = get_id(f[4]);
  if (!actor) return std::nullopt;
  e.actor = user_id{*actor};
  if (f[5] == "online")
    e.status = domain::presence_status::online;
  else if (f[5] == "offline")
    e.status = domain::presence_status::offline;
  else
    return std::nullopt;
  auto reason = get_reason(f[6]);
  if (!reason) return std::nullopt;
  e.reason = std::move(*reason);
  if (f[7] == "1")
    e.frame = std::make_shared<const std::string>(body);
  else if (f[7] != "0" || !body.empty())
    return std::nullopt;
  return e;
}

}  // namespace sl::broker::redis::detail
