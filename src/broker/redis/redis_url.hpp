#pragma once
// Where the Redis broker connects: REDIS_URL parsed.
//
//   redis://[[user]:password@]host[:port][/db]
//
// `host` is a name, an IPv4 address or a bracketed IPv6 address; the port
// defaults to 6379 and the database to 0. The password (and user, for Redis 6
// ACLs) may be percent-encoded. Anything else (another scheme, rediss:// (TLS
// is not supported), a query, a user without a password, a bad port or
// database) throws std::invalid_argument naming the problem. The password is
// never repeated in the message.

#include <cstdint>
#include <string>
#include <string_view>

namespace sl::broker::redis {

struct redis_endpoint {
  std::string host;  // as written, without IPv6 brackets
  std::uint16_t port = 6379;
  std::string user;      // empty: the default user
  std::string password;  // empty: no AUTH
  int db = 0;
};

redis_endpoint parse_redis_url(std::string_view url);

}  // namespace sl::broker::redis
