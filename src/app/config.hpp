#pragma once
// Configuration of every role: flags, then environment (the original's
// variable names), then defaults (contract.md section 1).

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sl::app {

struct config {
  std::string host = "0.0.0.0";
  int api_port = 8000;
  int ws_port = 8001;
  int analytics_port = 8002;
  int notifier_port = 8003;
  std::string database_url;  // empty: SQLite in the data dir
  std::string data_dir;      // empty: $XDG_DATA_HOME/signalink or ~/.local/share/signalink
  std::string redis_url;
  std::string kafka_bootstrap_servers;
  std::optional<std::string> secret_key;
  std::string algorithm = "HS256";
  int access_token_expire_minutes = 30;
  std::string environment = "development";
  std::string app_name = "Signalink";
  std::string log_level = "info";
  std::string cors_origins = R"(["http://localhost:3000","http://localhost:8000"])";
  bool rate_limit_enabled = true;
  double rate_limit_per_minute = 1200;
  double rate_limit_burst = 100;
  std::string password_hash_cost = "interactive";
  int login_max_failures = 5;
  int login_max_failures_per_address = 20;
  int login_window_seconds = 300;
  int revocation_poll_ms = 2000;
  int user_cache_seconds = 5;
  int ws_ticket_ttl_seconds = 30;
  int last_seen_interval_seconds = 60;
  std::size_t max_body_bytes = 1 << 20;
  int http_header_timeout_ms = 10000;
  int http_idle_timeout_ms = 60000;
  unsigned io_threads = 0;  // 0: one per core
  unsigned db_pool_size = 8;
  unsigned sqlite_readers = 2;
  // Gateway (contract.md section 3).
  std::size_t ws_max_frame_bytes = 64 * 1024;
  std::size_t ws_send_queue_bytes = 1024 * 1024;
  int ws_idle_timeout_seconds = 60;
  int ws_close_timeout_ms = 5000;
  int ws_max_sockets_per_user = 100;
  std::size_t ws_max_subscriptions_per_socket = 100;
  std::int64_t ws_replay_max_messages = 1000;
  int ws_replay_max_age_seconds = 86400;
  std::size_t ws_typing_max_subscribers = 1000;
  int ws_rate_limit_close_after = 10;
  int ws_gap_wait_ms = 100;
  // Event log (contract.md section 4).
  int kafka_partitions = 3;
  int kafka_delivery_timeout_ms = 15000;
  int kafka_session_timeout_ms = 45000;
  // KAFKA_TOPIC_*: the names of Signalink's topics in Kafka.
  std::string kafka_topic_messages = "signalink.messages";
  std::string kafka_topic_notifications = "signalink.notifications";
  std::string kafka_topic_analytics = "signalink.analytics";
  std::string kafka_topic_presence = "signalink.presence";
  std::string analytics_consumer_group = "analytics-consumers";
  std::size_t relay_batch = 500;
  int event_log_retention_hours = 168;
  int consumer_max_attempts = 5;
  int consumer_backoff_ms = 100;
  int consumer_backoff_max_ms = 5000;
  int presence_flush_ms = 1000;
  bool relay_crash_after_append = false;  // tests only
  int presence_sample_ms = 10000;         // presence.sockets samples of each gateway node
  // Analytics (contract.md section 5).
  int metrics_window_seconds = 60;
  int metrics_retention_days = 30;
  int metrics_grace_ms = 2000;
  int metrics_write_interval_ms = 1000;
  std::string analytics_token;  // empty: the analytics API is open
  // Notifier (docs/notifications.md).
  std::string notifier_consumer_group = "notifications-consumers";
  int notify_coalesce_ms = 10000;
  std::string smtp_url;  // empty: no email
  std::string smtp_from = "signalink@localhost";
  std::string smtp_username;
  std::string smtp_password;
  bool smtp_starttls = false;
  int delivery_timeout_ms = 5000;
  int delivery_max_attempts = 5;
  int delivery_backoff_ms = 1000;
  int delivery_backoff_max_ms = 60000;
  int delivery_poll_ms = 500;
  unsigned delivery_concurrency = 4;
  std::string public_url;          // the web client's address, linked from emails
  std::string gateway_public_url;  // the WebSocket URL the web client opens, when not ws://<its host>:<ws_port>/ws
  // Redis broker.
  int redis_heartbeat_ms = 3000;
  int redis_presence_ttl_ms = 10000;
  std::string node_id;  // empty: random

  bool production() const { return environment == "production"; }
  std::filesystem::path resolved_data_dir() const;
  // "sqlite:///abs", "sqlite:////abs", "sqlite:rel" or a postgresql:// URL.
  std::string resolved_database_url() const;
  std::vector<std::string> cors_origin_list() const;
};

// Registers the options shared by every role on `cmd`, bound to `c`.
void add_options(CLI::App& cmd, config& c);
// Checks rules that span options; returns an error message or empty.
std::string validate(const config& c);

enum class backend { sqlite, postgres };
backend backend_of(const std::string& database_url);
// How logs and /health name the database: "postgresql" (never the URL, which
// holds a password) or the sqlite: URL.
std::string database_label(const std::string& database_url);
// The SQLite file path named by a sqlite: URL.
std::string sqlite_path(const std::string& database_url);

}  // namespace sl::app
