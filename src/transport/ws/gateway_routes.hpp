#pragma once
// The gateway role's HTTP endpoints (contract.md section 3): `/`, `/health`
// (a real broker round trip), `/stats` (this node) and `/metrics`.

#include "transport/http/router.hpp"
#include "transport/ws/gateway.hpp"

namespace sl::ws {

void add_gateway_routes(http::router& r, gateway& g);

}  // namespace sl::ws
