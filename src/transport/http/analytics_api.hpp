#pragma once
// The analytics role's HTTP API (contract.md section 5): metrics rows, top
// lists, system stats and time series over domain::analytics_store, plus
// `/`, `/health`, `/metrics` (Prometheus), `/docs`, `/openapi.json` and the
// dashboard. The context outlives the server; handlers run on I/O threads.

#include <chrono>
#include <functional>
#include <string>

#include "base/task.hpp"
#include "base/time.hpp"
#include "domain/store.hpp"
#include "transport/http/router.hpp"

namespace sl::http {

struct analytics_info {
  std::string app_name = "Signalink";
  std::string version;
  std::string environment = "development";
  std::string share_dir;  // analytics-openapi.json, docs/, dashboard/
  std::string token;      // when set, /metrics/... require `Authorization: Bearer <token>`
  int window_seconds = 60;
  std::string event_log;  // "database" | "kafka"
};

struct analytics_context {
  domain::store& db;
  const clock& clk;
  analytics_info info;
  // A round trip to the event log, for /health.
  std::function<task<bool>()> event_log_ok;
};

void add_analytics_routes(router& r, analytics_context& ctx);

}  // namespace sl::http
