#include "domain/notifications.hpp"

#include <algorithm>
#include <map>

namespace sl::domain::notify {

std::string_view to_string(kind k) {
  switch (k) {
    case kind::direct:
      return "dm";
    case kind::mention:
      return "mention";
    case kind::reply:
      return "reply";
    case kind::broadcast:
      return "channel";
  }
  return "mention";
}

std::optional<kind> parse_kind(std::string_view s) {
  for (auto k : {kind::direct, kind::mention, kind::reply, kind::broadcast})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::string_view to_string(delivery_channel c) { return c == delivery_channel::email ? "email" : "webhook"; }

namespace {

bool wanted(kind k, const preferences& p) { return k == kind::direct ? p.dm : p.mention; }

bool contains(const std::vector<user_id>& v, const user_id& u) { return std::find(v.begin(), v.end(), u) != v.end(); }

}  // namespace

std::vector<decision> decide(const message_facts& f, const std::vector<audience_member>& members,
                             const std::vector<user_id>& online) {
  const bool may_broadcast = f.author_role == role::owner || f.author_role == role::admin;
  // Strongest reason per member: kinds are declared strongest first.
  std::map<user_id, kind> best;
  auto offer = [&](const user_id& u, kind k) {
    auto [it, inserted] = best.emplace(u, k);
    if (!inserted && k < it->second) it->second = k;
  };
  for (const auto& m : members) {
    if (m.user == f.author) continue;
    if (f.channel.is_direct) offer(m.user, kind::direct);
    if (contains(f.mentions, m.user)) offer(m.user, kind::mention);
    if (contains(f.thread, m.user)) offer(m.user, kind::reply);
    if (may_broadcast && (f.mentions_channel || (f.mentions_here && contains(online, m.user))))
      offer(m.user, kind::broadcast);
  }
  std::vector<decision> out;
  for (const auto& m : members) {
    auto it = best.find(m.user);
    if (it == best.end() || m.muted || !wanted(it->second, m.prefs)) continue;
    out.push_back(decision{m.user, it->second});
  }
  std::sort(out.begin(), out.end(), [](const decision& a, const decision& b) { return a.recipient < b.recipient; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const decision& a, const decision& b) { return a.recipient == b.recipient; }),
            out.end());
  return out;
}

boost::json::object to_json(const notification& n) {
  boost::json::object o;
  o["id"] = n.id.str();
  o["type"] = to_string(n.type);
  o["channel_id"] = n.channel.str();
  o["message_id"] = n.message.str();
  o["actor_id"] = n.actor ? boost::json::value(n.actor->str()) : boost::json::value(nullptr);
  o["text"] = n.text;
  o["count"] = n.count;
  o["is_read"] = n.is_read;
  o["created_at"] = format_iso(n.created_at);
  o["updated_at"] = format_iso(n.updated_at);
  return o;
}

boost::json::object to_json(const preferences& p) {
  boost::json::object o;
  o["email_notifications"] = p.email;
  o["push_notifications"] = p.push;
  o["mention_notifications"] = p.mention;
  o["dm_notifications"] = p.dm;
  o["updated_at"] = format_iso(p.updated_at);
  return o;
}

std::string preview(std::string_view content, std::size_t max_chars) {
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < content.size() && chars < max_chars) {
    const auto c = static_cast<unsigned char>(content[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (i + len > content.size()) break;
    i += len;
    ++chars;
  }
  std::string out(content.substr(0, i));
  if (i < content.size()) out += "\xe2\x80\xa6";  // U+2026, the ellipsis
  return out;
}

}  // namespace sl::domain::notify
