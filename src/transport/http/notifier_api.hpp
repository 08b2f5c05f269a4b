#pragma once
// The notifier role's HTTP surface (contract.md section 1): `/`, `/health`
// (database, event log, SMTP configured or not) and `/metrics` (Prometheus).
// The context outlives the server; handlers run on I/O threads.

#include <functional>
#include <string>

#include "base/task.hpp"
#include "domain/store.hpp"
#include "transport/http/router.hpp"

namespace sl::http {

struct notifier_info {
  std::string app_name = "Signalink";
  std::string version;
  std::string environment = "development";
  std::string event_log;  // "database" | "kafka"
  bool email_enabled = false;
};

struct notifier_context {
  domain::store& db;
  notifier_info info;
  // A round trip to the event log, for /health.
  std::function<task<bool>()> event_log_ok;
};

void add_notifier_routes(router& r, notifier_context& ctx);

}  // namespace sl::http
