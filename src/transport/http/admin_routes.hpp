#pragma once
// Operator endpoints every role serves on its own port, answered only to
// loopback peers (403 otherwise): an operator on the host, or a sidecar, may
// use them; the network may not. A request that a proxy relayed (it carries
// Forwarded, X-Forwarded-For or X-Real-IP) gets 403 too, even from loopback:
// behind a reverse proxy on the same host every client looks local.
//   GET /admin/log-level  → {"level": "<spec>"}, the current LOG_LEVEL spec
//   PUT /admin/log-level  ← {"level": "warning,gateway=debug"}; 422 for a spec
//                          that does not parse; takes effect at once,
//                          process-wide (every role of a `serve` process).
// Not part of the public API contract (left out of openapi.json).

#include <string_view>

#include "transport/http/router.hpp"

namespace sl::http {

void add_admin_routes(router& r);

// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (::ffff:127.0.0.1);
// false for anything that is not an IP address.
bool is_loopback(std::string_view address) noexcept;

}  // namespace sl::http
