#include "notify/courier.hpp"

#include <boost/json/serialize.hpp>

#include "delivery/curl_global.hpp"
#include "delivery/signature.hpp"
#include "delivery/webhook_client.hpp"

namespace sl::notify {
namespace {

namespace dn = domain::notify;

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string who(const dn::delivery& d) { return d.actor_name.empty() ? std::string("Someone") : d.actor_name; }

std::string headline(const dn::delivery& d) {
  const auto where = "#" + d.channel_name;
  if (d.n.count > 1) return std::to_string(d.n.count) + " new messages in " + where;
  switch (d.n.type) {
    case dn::kind::direct:
      return who(d) + " sent you a direct message";
    case dn::kind::mention:
      return who(d) + " mentioned you in " + where;
    case dn::kind::reply:
      return who(d) + " replied in a thread in " + where;
    case dn::kind::broadcast:
      return who(d) + " notified everyone in " + where;
  }
  return "New activity in " + where;
}

}  // namespace

std::string webhook_body(const dn::delivery& d, timestamp sent_at) {
  boost::json::object o;
  o["event"] = "notification";
  o["delivery_id"] = d.id.str();
  o["sent_at"] = format_iso(sent_at);
  o["notification"] = dn::to_json(d.n);
  o["recipient"] = boost::json::object{{"id", d.n.recipient.str()}, {"username", d.recipient_name}};
  if (d.n.actor && !d.actor_name.empty())
    o["actor"] = boost::json::object{{"id", d.n.actor->str()}, {"username", d.actor_name}};
  else
    o["actor"] = nullptr;
  o["channel"] = boost::json::object{{"id", d.n.channel.str()}, {"name", d.channel_name}};
  return boost::json::serialize(o);
}

delivery::mail email_of(const dn::delivery& d, const courier_settings& s) {
  delivery::mail m;
  m.from = s.mail_from;
  m.to = d.target;
  const auto title = headline(d);
  m.subject = "[" + s.app_name + "] " + title;
  std::string text = "Hi " + d.recipient_name + ",\n\n" + title + ":\n\n    " + d.n.text + "\n";
  std::string html = "<p>Hi " + html_escape(d.recipient_name) + ",</p>\n<p>" + html_escape(title) +
                     ":</p>\n<blockquote>" + html_escape(d.n.text) + "</blockquote>\n";
  if (!s.public_url.empty()) {
    text += "\nOpen " + s.app_name + ": " + s.public_url + "\n";
    html += "<p><a href=\"" + html_escape(s.public_url) + "\">Open " + html_escape(s.app_name) + "</a></p>\n";
  }
  text += "\nYou get this because you were away. Change what you receive in your notification preferences.\n";
  html +=
      "<p style=\"color:#666\">You get this because you were away. Change what you receive in your notification "
      "preferences.</p>\n";
  m.text = std::move(text);
  m.html = std::move(html);
  return m;
}

courier make_courier(courier_settings s) {
  delivery::init_delivery();
  return [s = std::move(s)](const dn::delivery& d) -> send_outcome {
    if (d.channel == dn::delivery_channel::email) {
      if (s.smtp.url.empty()) return {false, "email is not configured (SMTP_URL)"};
      auto r = delivery::send_mail(s.smtp, email_of(d, s));
      return {r.delivered, r.error};
    }
    delivery::http_post p;
    p.url = d.target;
    p.body = webhook_body(d, system_clock{}.now());
    p.headers = {{signature_header, "sha256=" + delivery::hmac_sha256_hex(d.secret, p.body)},
                 {delivery_header, d.id.str()}};
    p.timeout = s.timeout;
    auto r = delivery::post_json(p);
    return {r.delivered, r.error};
  };
}

}  // namespace sl::notify
