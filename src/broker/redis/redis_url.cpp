#include "broker/redis/redis_url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <stdexcept>

namespace sl::broker::redis {
namespace {

[[noreturn]] void bad(const std::string& why) {
  throw std::invalid_argument("invalid Redis URL (expected redis://[[user]:password@]host[:port][/db]): " + why);
}

template <typename Int>
bool parse_int(std::string_view text, Int& out) {
  if (text.empty()) return false;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end;
}

}  // namespace

redis_endpoint parse_redis_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(boost::core::string_view(url.data(), url.size()));
  if (!parsed) bad("not a URL");
  const auto& u = *parsed;
  if (u.scheme() == "rediss") bad("rediss:// (TLS) is not supported");
  if (u.scheme() != "redis") bad("the scheme must be redis://");
  if (!u.has_authority()) bad("no host");
  if (u.has_query() || u.has_fragment()) bad("query strings and fragments are not supported");

  redis_endpoint ep;
  ep.host = u.host_address();
  if (ep.host.empty()) bad("no host");
  if (u.has_port()) {
    unsigned port = 0;
    if (!parse_int(std::string_view(u.port().data(), u.port().size()), port) || port == 0 || port > 65535)
      bad("the port must be a number from 1 to 65535");
    ep.port = static_cast<std::uint16_t>(port);
  }
  if (u.has_userinfo()) {
    if (!u.has_password()) bad("a user needs a password (redis://user:password@host or redis://:password@host)");
    ep.user = u.user();
    ep.password = u.password();
    if (ep.password.empty()) bad("empty password");
  }
  const std::string path = u.path();
  if (!path.empty() && path.front() != '/') bad("unexpected text after the port");
  if (!path.empty() && path != "/") {
    if (!parse_int(std::string_view(path).substr(1), ep.db) || ep.db < 0)
      bad("the path must be a database number (/0, /1, ...)");
  }
  return ep;
}

}  // namespace sl::broker::redis
