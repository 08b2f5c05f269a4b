#include "app/config.hpp"

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <tuple>

namespace sl::app {

std::filesystem::path config::resolved_data_dir() const {
  if (!data_dir.empty()) return data_dir;
  // Read at start-up, before any thread exists.
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)  // NOLINT(concurrency-mt-unsafe)
    return std::filesystem::path(xdg) / "signalink";
  if (const char* home = std::getenv("HOME"); home && *home)  // NOLINT(concurrency-mt-unsafe)
    return std::filesystem::path(home) / ".local" / "share" / "signalink";
  return std::filesystem::current_path() / "signalink-data";
}

std::string config::resolved_database_url() const {
  if (!database_url.empty()) return database_url;
  return "sqlite:///" + (resolved_data_dir() / "signalink.db").string().substr(1);
}

std::vector<std::string> config::cors_origin_list() const {
  std::vector<std::string> out;
  boost::system::error_code ec;
  auto v = boost::json::parse(cors_origins, ec);
  if (!ec && v.is_array()) {
    for (auto& o : v.as_array())
      if (o.is_string()) out.emplace_back(o.as_string());
    return out;
  }
  // Also accept a comma-separated list.
  std::size_t start = 0;
  while (start <= cors_origins.size()) {
    auto end = cors_origins.find(',', start);
    if (end == std::string::npos) end = cors_origins.size();
    auto item = cors_origins.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    start = end + 1;
  }
  return out;
}

void add_options(CLI::App& cmd, config& c) {
  cmd.add_option("--host", c.host, "Address to listen on")->envname("HOST")->capture_default_str();
  cmd.add_option("--api-port", c.api_port, "API port")->envname("API_PORT")->capture_default_str();
  cmd.add_option("--ws-port", c.ws_port, "WebSocket gateway port")->envname("WS_PORT")->capture_default_str();
  cmd.add_option("--analytics-port", c.analytics_port, "Analytics port")
      ->envname("ANALYTICS_PORT")
      ->capture_default_str();
  cmd.add_option("--notifier-port", c.notifier_port, "Notifier port")->envname("NOTIFIER_PORT")->capture_default_str();
  cmd.add_option("--database-url", c.database_url, "sqlite:///abs/path.db or postgresql://user:pass@host:port/db")
      ->envname("DATABASE_URL");
  cmd.add_option("--data-dir", c.data_dir, "Data directory (SQLite file, generated secret)")
      ->envname("SIGNALINK_DATA_DIR");
  cmd.add_option("--redis-url", c.redis_url, "Redis URL (scale-out fan-out)")->envname("REDIS_URL");
  cmd.add_option("--kafka-bootstrap-servers", c.kafka_bootstrap_servers, "Kafka brokers")
      ->envname("KAFKA_BOOTSTRAP_SERVERS");
  cmd.add_option("--secret-key", c.secret_key, "JWT signing key")->envname("SECRET_KEY");
  cmd.add_option("--algorithm", c.algorithm, "JWT algorithm (HS256 only)")->envname("ALGORITHM")->capture_default_str();
  cmd.add_option("--access-token-expire-minutes", c.access_token_expire_minutes, "Token lifetime")
      ->envname("ACCESS_TOKEN_EXPIRE_MINUTES")
      ->capture_default_str();
  cmd.add_option("--environment", c.environment, "development | production")
      ->envname("ENVIRONMENT")
      ->capture_default_str();
  cmd.add_option("--app-name", c.app_name, "Application name")->envname("APP_NAME")->capture_default_str();
  cmd.add_option("--log-level", c.log_level,
                 "debug | info | warning | error, then component=level items: warning,gateway=debug")
      ->envname("LOG_LEVEL")
      ->capture_default_str();
  cmd.add_option("--cors-origins", c.cors_origins, "Allowed origins, a JSON list")
      ->envname("CORS_ORIGINS")
      ->capture_default_str();
  cmd.add_option("--rate-limit-enabled", c.rate_limit_enabled, "Limit message sends per user")
      ->envname("RATE_LIMIT_ENABLED")
      ->capture_default_str();
  cmd.add_option("--rate-limit-per-minute", c.rate_limit_per_minute, "Sustained sends per minute per user")
      ->envname("RATE_LIMIT_PER_MINUTE")
      ->capture_default_str();
  cmd.add_option("--rate-limit-burst", c.rate_limit_burst, "Burst of sends per user")
      ->envname("RATE_LIMIT_BURST")
      ->capture_default_str();
  cmd.add_option("--password-hash-cost", c.password_hash_cost, "interactive | fast (tests only)")
      ->envname("PASSWORD_HASH_COST")
      ->check(CLI::IsMember({"interactive", "fast"}))
      ->capture_default_str();
  cmd.add_option("--login-max-failures", c.login_max_failures, "Failed logins per username before 429")
      ->envname("LOGIN_MAX_FAILURES")
      ->capture_default_str();
  cmd.add_option("--login-max-failures-per-address", c.login_max_failures_per_address,
                 "Failed logins per client address before 429")
      ->envname("LOGIN_MAX_FAILURES_PER_ADDRESS")
      ->capture_default_str();
  cmd.add_option("--login-window-seconds", c.login_window_seconds, "Window of the login throttle")
      ->envname("LOGIN_WINDOW_SECONDS")
      ->capture_default_str();
  cmd.add_option("--revocation-poll-ms", c.revocation_poll_ms, "How often revoked sessions are pulled from the store")
      ->envname("REVOCATION_POLL_MS")
      ->capture_default_str();
  cmd.add_option("--user-cache-seconds", c.user_cache_seconds, "How long a verified user is cached")
      ->envname("USER_CACHE_SECONDS")
      ->capture_default_str();
  cmd.add_option("--ws-ticket-ttl-seconds", c.ws_ticket_ttl_seconds, "Lifetime of a WebSocket ticket")
      ->envname("WS_TICKET_TTL_SECONDS")
      ->capture_default_str();
  cmd.add_option("--last-seen-interval-seconds", c.last_seen_interval_seconds,
                 "Least time between two writes of a user's last_seen_at")
      ->envname("LAST_SEEN_INTERVAL_SECONDS")
      ->capture_default_str();
  cmd.add_option("--max-body-bytes", c.max_body_bytes, "Largest accepted request body")
      ->envname("MAX_BODY_BYTES")
      ->capture_default_str();
  cmd.add_option("--http-header-timeout-ms", c.http_header_timeout_ms, "Time to send a request header")
      ->envname("HTTP_HEADER_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--http-idle-timeout-ms", c.http_idle_timeout_ms, "Keep-alive idle timeout")
      ->envname("HTTP_IDLE_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--io-threads", c.io_threads, "I/O threads (0: one per core)")
      ->envname("IO_THREADS")
      ->capture_default_str();
  cmd.add_option("--db-pool-size", c.db_pool_size, "PostgreSQL connections")
      ->envname("DB_POOL_SIZE")
      ->capture_default_str();
  cmd.add_option("--sqlite-readers", c.sqlite_readers, "SQLite reader threads")
      ->envname("SQLITE_READERS")
      ->capture_default_str();
  cmd.add_option("--ws-max-frame-bytes", c.ws_max_frame_bytes, "Largest client frame (larger: close 1009)")
      ->envname("WS_MAX_FRAME_BYTES")
      ->capture_default_str();
  cmd.add_option("--ws-send-queue-bytes", c.ws_send_queue_bytes,
                 "Unsent bytes per socket before it is closed as a slow consumer (4008)")
      ->envname("WS_SEND_QUEUE_BYTES")
      ->capture_default_str();
  cmd.add_option("--ws-idle-timeout-seconds", c.ws_idle_timeout_seconds,
                 "Silent sockets are pinged at half of it and closed at it")
      ->envname("WS_IDLE_TIMEOUT_SECONDS")
      ->capture_default_str();
  cmd.add_option("--ws-close-timeout-ms", c.ws_close_timeout_ms, "A closing socket is dropped after it")
      ->envname("WS_CLOSE_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--ws-max-sockets-per-user", c.ws_max_sockets_per_user,
                 "WebSockets per user on one node (more: HTTP 429)")
      ->envname("WS_MAX_SOCKETS_PER_USER")
      ->capture_default_str();
  cmd.add_option("--ws-max-subscriptions-per-socket", c.ws_max_subscriptions_per_socket,
                 "Channel subscriptions per WebSocket")
      ->envname("WS_MAX_SUBSCRIPTIONS_PER_SOCKET")
      ->capture_default_str();
  cmd.add_option("--ws-replay-max-messages", c.ws_replay_max_messages,
                 "since_seq replays at least this many missed messages")
      ->envname("WS_REPLAY_MAX_MESSAGES")
      ->capture_default_str();
  cmd.add_option("--ws-replay-max-age-seconds", c.ws_replay_max_age_seconds,
                 "...or every missed message younger than this")
      ->envname("WS_REPLAY_MAX_AGE_SECONDS")
      ->capture_default_str();
  cmd.add_option("--ws-typing-max-subscribers", c.ws_typing_max_subscribers,
                 "Channels with more subscribers get no typing indicators")
      ->envname("WS_TYPING_MAX_SUBSCRIBERS")
      ->capture_default_str();
  cmd.add_option("--ws-rate-limit-close-after", c.ws_rate_limit_close_after,
                 "rate_limited errors in a row before close 4029")
      ->envname("WS_RATE_LIMIT_CLOSE_AFTER")
      ->capture_default_str();
  cmd.add_option("--ws-gap-wait-ms", c.ws_gap_wait_ms,
                 "How long an out-of-order message waits before the store fills the gap")
      ->envname("WS_GAP_WAIT_MS")
      ->capture_default_str();
  cmd.add_option("--kafka-partitions", c.kafka_partitions, "Partitions of the topics Signalink creates in Kafka")
      ->envname("KAFKA_PARTITIONS")
      ->capture_default_str();
  cmd.add_option("--kafka-session-timeout-ms", c.kafka_session_timeout_ms,
                 "A Kafka consumer silent for this long leaves its group (a crashed member's partitions move)")
      ->envname("KAFKA_SESSION_TIMEOUT_MS")
      ->capture_default_str();
  for (auto [flag, env, field] :
       {std::tuple{"--kafka-topic-messages", "KAFKA_TOPIC_MESSAGES", &c.kafka_topic_messages},
        std::tuple{"--kafka-topic-notifications", "KAFKA_TOPIC_NOTIFICATIONS", &c.kafka_topic_notifications},
        std::tuple{"--kafka-topic-analytics", "KAFKA_TOPIC_ANALYTICS", &c.kafka_topic_analytics},
        std::tuple{"--kafka-topic-presence", "KAFKA_TOPIC_PRESENCE", &c.kafka_topic_presence}})
    cmd.add_option(flag, *field, "Name of this topic in Kafka")->envname(env)->capture_default_str();
  cmd.add_option("--analytics-consumer-group", c.analytics_consumer_group, "Consumer group of the analytics role")
      ->envname("ANALYTICS_CONSUMER_GROUP")
      ->capture_default_str();
  cmd.add_option("--kafka-delivery-timeout-ms", c.kafka_delivery_timeout_ms,
                 "A batch Kafka has not acknowledged by then is retried")
      ->envname("KAFKA_DELIVERY_TIMEOUT_MS")
      ->capture_default_str();
  cmd.add_option("--relay-batch", c.relay_batch, "Outbox rows the relay ships per batch")
      ->envname("RELAY_BATCH")
      ->capture_default_str();
  cmd.add_option("--event-log-retention-hours", c.event_log_retention_hours,
                 "Published outbox rows (the database log) are kept this long")
      ->envname("EVENT_LOG_RETENTION_HOURS")
      ->capture_default_str();
  cmd.add_option("--consumer-max-attempts", c.consumer_max_attempts,
                 "Handler attempts before an event goes to <topic>.dlq")
      ->envname("CONSUMER_MAX_ATTEMPTS")
      ->capture_default_str();
  cmd.add_option("--consumer-backoff-ms", c.consumer_backoff_ms, "First retry delay of a failed event")
      ->envname("CONSUMER_BACKOFF_MS")
      ->capture_default_str();
  cmd.add_option("--consumer-backoff-max-ms", c.consumer_backoff_max_ms, "Retry delays double up to this")
      ->envname("CONSUMER_BACKOFF_MAX_MS")
      ->capture_default_str();
  cmd.add_option("--presence-flush-ms", c.presence_flush_ms,
                 "Presence events are appended to the log in batches this often")
      ->envname("PRESENCE_FLUSH_MS")
      ->capture_default_str();
  cmd.add_option("--relay-crash-after-append", c.relay_crash_after_append,
                 "Tests only: kill the process after the relay's first append, before marking it sent")
      ->envname("SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND");
  cmd.add_option("--redis-heartbeat-ms", c.redis_heartbeat_ms, "Node heartbeat period in Redis")
      ->envname("REDIS_HEARTBEAT_MS")
      ->capture_default_str();
  cmd.add_option("--redis-presence-ttl-ms", c.redis_presence_ttl_ms,
                 "A node silent this long is dead: its users go offline")
      ->envname("REDIS_PRESENCE_TTL_MS")
      ->capture_default_str();
  cmd.add_option("--presence-sample-ms", c.presence_sample_ms,
                 "How often each gateway node records its open sockets (presence.sockets)")
      ->envname("PRESENCE_SAMPLE_MS")
      ->capture_default_str();
  cmd.add_option("--metrics-window-seconds", c.metrics_window_seconds, "Length of an analytics window")
      ->envname("METRICS_WINDOW_SECONDS")
      ->capture_default_str();
  cmd.add_option("--metrics-retention-days", c.metrics_retention_days, "How long analytics windows are kept")
      ->envname("METRICS_RETENTION_DAYS")
      ->capture_default_str();
  cmd.add_option("--metrics-grace-ms", c.metrics_grace_ms, "How long after its end a window waits for late events")
      ->envname("METRICS_GRACE_MS")
      ->capture_default_str();
  cmd.add_option("--metrics-write-interval-ms", c.metrics_write_interval_ms,
                 "How often the analytics writer looks for windows to write")
      ->envname("METRICS_WRITE_INTERVAL_MS")
      ->capture_default_str();
  cmd.add_option("--analytics-token", c.analytics_token,
                 "Bearer token the analytics API requires (default: none, open)")
      ->envname("ANALYTICS_TOKEN");
  cmd.add_option("--notifier-consumer-group", c.notifier_consumer_group, "Consumer group of the notifier role")
      ->envname("NOTIFIER_CONSUMER_GROUP")
      ->capture_default_str();
  cmd.add_option("--notify-coalesce-ms", c.notify_coalesce_ms,
                 "Notifications for one recipient and channel within this window fold into one; external "
                 "deliveries wait this long")
      ->envname("NOTIFY_COALESCE_MS")
      ->capture_default_str();
  cmd.add_option("--smtp-url", c.smtp_url, "SMTP server for notification emails (smtp://host:port, smtps://...)")
      ->envname("SMTP_URL");
  cmd.add_option("--smtp-from", c.smtp_from, "Sender of notification emails")
      ->envname("SMTP_FROM")
      ->capture_default_str();
  cmd.add_option("--smtp-username", c.smtp_username, "SMTP login (AUTH only when set)")->envname("SMTP_USERNAME");
  cmd.add_option("--smtp-password", c.smtp_password, "SMTP password")->envname("SMTP_PASSWORD");
  cmd.add_option("--smtp-starttls", c.smtp_starttls, "Require STARTTLS on smtp://")->envname("SMTP_STARTTLS");
  for (auto [flag, env, field, help] :
       {std::tuple{"--delivery-timeout-ms", "DELIVERY_TIMEOUT_MS", &c.delivery_timeout_ms,
                   "Deadline of one webhook call (an email gets twice as long)"},
        std::tuple{"--delivery-max-attempts", "DELIVERY_MAX_ATTEMPTS", &c.delivery_max_attempts,
                   "Attempts of a webhook call or email before it goes to signalink.notifications.dlq"},
        std::tuple{"--delivery-backoff-ms", "DELIVERY_BACKOFF_MS", &c.delivery_backoff_ms,
                   "First retry delay of a failed delivery (doubled per attempt, with jitter)"},
        std::tuple{"--delivery-backoff-max-ms", "DELIVERY_BACKOFF_MAX_MS", &c.delivery_backoff_max_ms,
                   "Retry delays double up to this"},
        std::tuple{"--delivery-poll-ms", "DELIVERY_POLL_MS", &c.delivery_poll_ms,
                   "How often the notifier looks for due deliveries"}})
    cmd.add_option(flag, *field, help)->envname(env)->capture_default_str();
  cmd.add_option("--delivery-concurrency", c.delivery_concurrency, "Deliveries sent at once by one notifier")
      ->envname("DELIVERY_CONCURRENCY")
      ->capture_default_str();
  cmd.add_option("--public-url", c.public_url, "Address of the web client, linked from notification emails")
      ->envname("PUBLIC_URL");
  cmd.add_option("--gateway-public-url", c.gateway_public_url,
                 "WebSocket URL the web client opens (ws[s]://host[:port]/ws), when not its own host on WS_PORT")
      ->envname("GATEWAY_PUBLIC_URL");
  cmd.add_option("--node-id", c.node_id, "This gateway node's id in Redis (default: random)")
      ->envname("NODE_ID")
      ->capture_default_str();
}

std::string validate(const config& c) {
  if (c.algorithm != "HS256") return "ALGORITHM must be HS256";
  if (c.production() && c.password_hash_cost == "fast")
    return "PASSWORD_HASH_COST=fast is for tests and benchmarks; it is refused when ENVIRONMENT=production";
  if (c.access_token_expire_minutes <= 0) return "ACCESS_TOKEN_EXPIRE_MINUTES must be positive";
  if (c.production() && c.relay_crash_after_append)
    return "SIGNALINK_TEST_RELAY_CRASH_AFTER_APPEND is for tests; it is refused when ENVIRONMENT=production";
  if (c.metrics_window_seconds < 1 || c.metrics_window_seconds > 86400)
    return "METRICS_WINDOW_SECONDS must be between 1 and 86400";
  if (c.metrics_retention_days < 1) return "METRICS_RETENTION_DAYS must be positive";
  if (c.metrics_grace_ms < 0 || c.metrics_write_interval_ms < 10 || c.presence_sample_ms < 10)
    return "METRICS_GRACE_MS must be >= 0, METRICS_WRITE_INTERVAL_MS and PRESENCE_SAMPLE_MS >= 10";
  if (c.notify_coalesce_ms < 0 || c.delivery_timeout_ms < 100 || c.delivery_max_attempts < 1 ||
      c.delivery_backoff_ms < 1 || c.delivery_backoff_max_ms < c.delivery_backoff_ms || c.delivery_poll_ms < 10 ||
      c.delivery_concurrency < 1)
    return "NOTIFY_COALESCE_MS must be >= 0, DELIVERY_TIMEOUT_MS >= 100, DELIVERY_MAX_ATTEMPTS and "
           "DELIVERY_CONCURRENCY >= 1, DELIVERY_BACKOFF_MS >= 1 and <= DELIVERY_BACKOFF_MAX_MS, DELIVERY_POLL_MS >= 10";
  if (!c.gateway_public_url.empty() && !c.gateway_public_url.starts_with("ws://") &&
      !c.gateway_public_url.starts_with("wss://"))
    return "GATEWAY_PUBLIC_URL must start with ws:// or wss://";
  return {};
}

backend backend_of(const std::string& url) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return backend::postgres;
  return backend::sqlite;
}

std::string database_label(const std::string& url) { return backend_of(url) == backend::postgres ? "postgresql" : url; }

std::string sqlite_path(const std::string& url) {
  // sqlite:///abs/file.db and sqlite:////abs/file.db name /abs/file.db; sqlite:rel/file.db is relative.
  std::string rest = url.rfind("sqlite:", 0) == 0 ? url.substr(7) : url;
  if (rest.rfind("///", 0) == 0) {
    rest = rest.substr(3);
    while (rest.size() > 1 && rest[0] == '/' && rest[1] == '/') rest.erase(0, 1);
    return rest.front() == '/' ? rest : "/" + rest;
  }
  if (rest.rfind("//", 0) == 0) return rest.substr(2);
  return rest;
}

}  // namespace sl::app
