#include "app/runtime.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <filesystem>
#include <iostream>
#include <system_error>
#include <thread>

#include "analytics/aggregator.hpp"
#include "app/version.hpp"
#include "base/log.hpp"
#include "base/random.hpp"
#include "broker/local/local_broker.hpp"
#include "broker/redis/redis_broker.hpp"
#include "domain/auth_service.hpp"
#include "domain/channel_service.hpp"
#include "domain/message_service.hpp"
#include "events/consumer.hpp"
#include "events/db_log.hpp"
#include "events/kafka/kafka_log.hpp"
#include "events/outbox_relay.hpp"
#include "events/presence_recorder.hpp"
#include "events/topic_names.hpp"
#include "net/io_pool.hpp"
#include "notify/courier.hpp"
#include "notify/notifier.hpp"
#include "observability/process_metrics.hpp"
#include "security/argon2_hasher.hpp"
#include "security/jwt_codec.hpp"
#include "security/secret_key.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "transport/http/admin_routes.hpp"
#include "transport/http/analytics_api.hpp"
#include "transport/http/api.hpp"
#include "transport/http/notifier_api.hpp"
#include "transport/http/pipeline.hpp"
#include "transport/http/server.hpp"
#include "transport/ws/gateway.hpp"
#include "transport/ws/gateway_routes.hpp"
#include "transport/ws/metrics.hpp"
#include "transport/ws/publisher.hpp"

namespace sl::app {
namespace {

namespace asio = boost::asio;

task<std::unique_ptr<domain::store>> open_store(asio::any_io_executor ex, const config& c) {
  const auto url = c.resolved_database_url();
  if (backend_of(url) == backend::postgres)
    co_return co_await storage::postgres::open(ex, storage::postgres::options{url, c.db_pool_size});
  co_return storage::sqlite::open(storage::sqlite::options{sqlite_path(url), c.sqlite_readers});
}

// The filesystem signalink_disk_*_bytes describe: the SQLite file's, or the
// data directory's (the secret key's) with PostgreSQL.
std::string data_path(const config& c) {
  const auto url = c.resolved_database_url();
  if (backend_of(url) == backend::sqlite) {
    // Made absolute: a bare file name has no parent, and statvfs("") fails.
    std::error_code ec;
    const auto file = std::filesystem::absolute(sqlite_path(url), ec);
    return ec ? std::string(".") : file.parent_path().string();
  }
  return c.resolved_data_dir().string();
}

std::vector<std::string> all_topics() {
  return {"signalink.messages", "signalink.notifications", "signalink.analytics", "signalink.presence"};
}

// This process's name for the relay lease: host, pid and a random suffix.
std::string relay_holder() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid()) + ":" + random_hex(4);
}

std::unique_ptr<domain::event_log> open_event_log(asio::any_io_executor ex, const config& c, domain::store& db,
                                                  const clock& clk) {
  if (c.kafka_bootstrap_servers.empty()) return std::make_unique<events::db_log>(db, clk);
  events::kafka::kafka_settings ks;
  ks.bootstrap = c.kafka_bootstrap_servers;
  ks.partitions = c.kafka_partitions;
  ks.delivery_timeout = std::chrono::milliseconds(c.kafka_delivery_timeout_ms);
  ks.session_timeout = std::chrono::milliseconds(c.kafka_session_timeout_ms);
  return events::rename_topics(events::kafka::open_kafka_log(std::move(ex), ks),
                               {{"signalink.messages", c.kafka_topic_messages},
                                {"signalink.notifications", c.kafka_topic_notifications},
                                {"signalink.analytics", c.kafka_topic_analytics},
                                {"signalink.presence", c.kafka_topic_presence}});
}

// Announces committed writes to live subscribers and wakes the outbox relay,
// so an event leaves as soon as its write commits instead of at the relay's
// next idle check.
class committed_writes final : public domain::realtime_sink {
 public:
  explicit committed_writes(domain::realtime_sink& live) : live_(live) {}
  void relay_to(events::outbox_relay* r) { relay_ = r; }

  void message_changed(domain::message_change kind, const domain::message& m, std::string_view author_name,
                       const user_id& actor) override {
    live_.message_changed(kind, m, author_name, actor);
    wake();
  }
  void membership_started(const channel_id& c, const user_id& who) override { live_.membership_started(c, who); }
  void membership_ended(const channel_id& c, const user_id& who) override {
    live_.membership_ended(c, who);
    wake();
  }
  void channel_deleted(const channel_id& c, const user_id& actor) override {
    live_.channel_deleted(c, actor);
    wake();
  }

 private:
  void wake() {
    if (relay_) relay_->nudge();
  }
  domain::realtime_sink& live_;
  events::outbox_relay* relay_ = nullptr;
};

// Stops one part of a process, if it runs.
template <typename Part>
task<void> stop_part(Part* p) {
  if (p) co_await p->stop();
}

// Everything one process serves, alive from start() to the end of run().
struct process {
  const config& cfg;
  net::io_pool io;
  system_clock clk;
  std::string secret;
  std::unique_ptr<domain::store> db;
  std::unique_ptr<security::argon2_hasher> hasher;
  std::unique_ptr<security::jwt_codec> tokens;
  std::unique_ptr<domain::rate_limiter> limiter;
  std::unique_ptr<domain::broker> broker;
  std::unique_ptr<ws::publisher> live;
  std::unique_ptr<committed_writes> writes;
  std::unique_ptr<domain::event_log> elog;  // the event log
  std::unique_ptr<events::outbox_relay> relay;
  std::unique_ptr<events::presence_recorder> presence;
  std::unique_ptr<domain::auth_service> auth;
  std::unique_ptr<domain::channel_service> channels;
  std::unique_ptr<domain::message_service> messages;
  std::unique_ptr<http::api_context> api_ctx;
  http::router api_routes;
  std::unique_ptr<http::pipeline> api_pipeline;
  std::unique_ptr<http::server> api_server;
  std::unique_ptr<ws::gateway> gateway;
  http::router gateway_routes;
  std::unique_ptr<http::pipeline> gateway_pipeline;
  std::unique_ptr<http::server> gateway_server;
  std::unique_ptr<analytics::aggregator> aggregator;
  std::unique_ptr<http::analytics_context> analytics_ctx;
  http::router analytics_routes;
  std::unique_ptr<http::pipeline> analytics_pipeline;
  std::unique_ptr<http::server> analytics_server;
  std::unique_ptr<notify::notifier> notifier;
  std::unique_ptr<http::notifier_context> notifier_ctx;
  http::router notifier_routes;
  std::unique_ptr<http::pipeline> notifier_pipeline;
  std::unique_ptr<http::server> notifier_server;
  asio::steady_timer revocation_timer;
  bool stopping = false;

  process(const config& c, std::string key)
      : cfg(c),
        io(c.io_threads ? c.io_threads : std::max(1u, std::thread::hardware_concurrency())),
        secret(std::move(key)),
        revocation_timer(io.context()) {}

  task<void> start(std::set<role> roles);
  void open_broker();
  void start_relay();
  http::server_settings server_settings(int port) const;
  void start_gateway();
  void start_analytics();
  void start_notifier();
  task<void> poll_revocations();
  // Stops accepting at once; then closes sockets (1012), says goodbye to the
  // broker, and stops the I/O threads.
  void stop();
  task<void> shutdown();
};

task<void> process::start(std::set<role> roles) {
  obs::register_process_metrics(std::string(version), data_path(cfg));
  db = co_await open_store(io.context().get_executor(), cfg);
  hasher = std::make_unique<security::argon2_hasher>(
      cfg.password_hash_cost == "fast" ? security::hash_cost::fast : security::hash_cost::interactive, 2);
  tokens = std::make_unique<security::jwt_codec>(secret);
  limiter = std::make_unique<domain::rate_limiter>(
      domain::rate_limit_settings{cfg.rate_limit_enabled, cfg.rate_limit_burst, cfg.rate_limit_per_minute});
  domain::auth_settings as;
  as.token_ttl = std::chrono::minutes(cfg.access_token_expire_minutes);
  as.user_cache_ttl = std::chrono::seconds(cfg.user_cache_seconds);
  as.ticket_ttl = std::chrono::seconds(cfg.ws_ticket_ttl_seconds);
  as.last_seen_interval = std::chrono::seconds(cfg.last_seen_interval_seconds);
  as.throttle = domain::throttle_settings{cfg.login_max_failures, cfg.login_max_failures_per_address,
                                          std::chrono::seconds(cfg.login_window_seconds)};
  auth = std::make_unique<domain::auth_service>(*db, *hasher, *tokens, clk, as);
  co_await auth->refresh_revocations();  // before the first request: logouts of earlier runs hold
  open_broker();
  elog = open_event_log(io.context().get_executor(), cfg, *db, clk);
  live = std::make_unique<ws::publisher>(*broker, clk);
  writes = std::make_unique<committed_writes>(*live);
  channels = std::make_unique<domain::channel_service>(*db, clk, *writes);
  messages = std::make_unique<domain::message_service>(*db, clk, *limiter, *writes);

  if (roles.contains(role::api)) {
    const auto url = cfg.resolved_database_url();
    api_ctx = std::make_unique<http::api_context>(
        http::api_context{*db, *auth, *channels, *messages,
                          http::api_info{cfg.app_name, std::string(version), cfg.environment,
                                         backend_of(url) == backend::postgres ? "postgresql" : "sqlite",
                                         locate_share_dir(), cfg.ws_port, cfg.gateway_public_url}});
    http::add_api_routes(api_routes, *api_ctx);
    http::add_admin_routes(api_routes);
    api_pipeline = std::make_unique<http::pipeline>(api_routes, http::pipeline_settings{"api", cfg.cors_origin_list()});
    api_server = std::make_unique<http::server>(io, server_settings(cfg.api_port), *api_pipeline);
    api_server->start();
    log::info("listening", {{"role", "api"},
                            {"address", "http://" + cfg.host + ":" + std::to_string(api_server->port())},
                            {"database", database_label(url)}});
  }
  if (roles.contains(role::gateway))
    start_gateway();
  else
    broker->start({});  // publishes only
  if (roles.contains(role::analytics)) start_analytics();
  if (roles.contains(role::notifier)) start_notifier();
  if (roles.contains(role::api) || roles.contains(role::gateway)) start_relay();  // the roles that write
  asio::co_spawn(io.context(), poll_revocations(), asio::detached);
}

void process::start_relay() {
  events::relay_settings rs;
  rs.holder = relay_holder();
  rs.batch = cfg.relay_batch;
  rs.retention = std::chrono::hours(cfg.event_log_retention_hours);
  rs.topics = all_topics();
  rs.crash_after_append = cfg.relay_crash_after_append;
  relay =
      std::make_unique<events::outbox_relay>(io.context().get_executor(), *db, *elog, elog->name() == "kafka", clk, rs);
  writes->relay_to(relay.get());
  relay->start();
  log::info("event log ready", {{"log", std::string(elog->name())}, {"relay", rs.holder}});
}

void process::open_broker() {
  if (cfg.redis_url.empty()) {
    broker = std::make_unique<broker::local_broker>();
    return;
  }
  broker::redis::redis_settings rs;
  rs.url = cfg.redis_url;
  rs.node_id = cfg.node_id;
  rs.heartbeat_interval = std::chrono::milliseconds(cfg.redis_heartbeat_ms);
  rs.heartbeat_ttl = std::chrono::milliseconds(cfg.redis_presence_ttl_ms);
  broker = broker::redis::open_redis_broker(io.context().get_executor(), rs);
}

http::server_settings process::server_settings(int port) const {
  http::server_settings ss;
  ss.host = cfg.host;
  ss.port = static_cast<unsigned short>(port);
  ss.max_body_bytes = cfg.max_body_bytes;
  ss.header_timeout = std::chrono::milliseconds(cfg.http_header_timeout_ms);
  ss.idle_timeout = std::chrono::milliseconds(cfg.http_idle_timeout_ms);
  return ss;
}

void process::start_gateway() {
  ws::metrics::register_metrics();
  ws::gateway_settings gs;
  gs.max_frame_bytes = cfg.ws_max_frame_bytes;
  gs.send_queue_bytes = cfg.ws_send_queue_bytes;
  gs.idle_timeout = std::chrono::seconds(cfg.ws_idle_timeout_seconds);
  gs.close_timeout = std::chrono::milliseconds(cfg.ws_close_timeout_ms);
  gs.max_sockets_per_user = cfg.ws_max_sockets_per_user;
  gs.max_subscriptions_per_socket = cfg.ws_max_subscriptions_per_socket;
  gs.replay_max_messages = cfg.ws_replay_max_messages;
  gs.replay_max_age = std::chrono::seconds(cfg.ws_replay_max_age_seconds);
  gs.typing_max_subscribers = cfg.ws_typing_max_subscribers;
  gs.rate_limit_close_after = cfg.ws_rate_limit_close_after;
  gs.gap_wait = std::chrono::milliseconds(cfg.ws_gap_wait_ms);
  gs.app_name = cfg.app_name;
  gs.version = std::string(version);
  gs.environment = cfg.environment;
  gateway = std::make_unique<ws::gateway>(io, *db, *auth, *messages, *broker, clk, gs);
  presence = std::make_unique<events::presence_recorder>(io.context().get_executor(), elog->sink(), clk,
                                                         std::chrono::milliseconds(cfg.presence_flush_ms));
  gateway->on_presence([rec = presence.get()](const user_id& u, domain::presence_status s) { rec->record(u, s); });
  presence->sample_sockets(
      cfg.node_id.empty() ? relay_holder() : cfg.node_id,
      [gw = gateway.get()] { return static_cast<std::int64_t>(gw->connections()); },
      std::chrono::milliseconds(cfg.presence_sample_ms));
  presence->start();
  gateway->start();
  ws::add_gateway_routes(gateway_routes, *gateway);
  http::add_admin_routes(gateway_routes);
  gateway_pipeline =
      std::make_unique<http::pipeline>(gateway_routes, http::pipeline_settings{"gateway", cfg.cors_origin_list()});
  gateway_server = std::make_unique<http::server>(io, server_settings(cfg.ws_port), *gateway_pipeline, gateway.get());
  gateway_server->start();
  log::info("listening", {{"role", "gateway"},
                          {"address", "ws://" + cfg.host + ":" + std::to_string(gateway_server->port()) + "/ws"},
                          {"broker", std::string(broker->name())}});
}

void process::start_analytics() {
  auto as = analytics::default_aggregator_settings();
  as.window_seconds = cfg.metrics_window_seconds;
  as.grace = std::chrono::milliseconds(cfg.metrics_grace_ms);
  as.write_every = std::chrono::milliseconds(cfg.metrics_write_interval_ms);
  as.retention = std::chrono::hours(24 * cfg.metrics_retention_days);
  as.consumer.group = cfg.analytics_consumer_group;
  as.consumer.max_attempts = cfg.consumer_max_attempts;
  as.consumer.backoff_min = std::chrono::milliseconds(cfg.consumer_backoff_ms);
  as.consumer.backoff_max = std::chrono::milliseconds(cfg.consumer_backoff_max_ms);
  aggregator =
      std::make_unique<analytics::aggregator>(io.context().get_executor(), *elog, *db, db->analytics(), clk, as);
  aggregator->start();
  analytics_ctx = std::make_unique<http::analytics_context>(http::analytics_context{
      *db, clk,
      http::analytics_info{cfg.app_name, std::string(version), cfg.environment, locate_share_dir(), cfg.analytics_token,
                           cfg.metrics_window_seconds, std::string(elog->name())},
      [log = elog.get()] { return log->check(); }});
  http::add_analytics_routes(analytics_routes, *analytics_ctx);
  http::add_admin_routes(analytics_routes);
  analytics_pipeline =
      std::make_unique<http::pipeline>(analytics_routes, http::pipeline_settings{"analytics", cfg.cors_origin_list()});
  analytics_server = std::make_unique<http::server>(io, server_settings(cfg.analytics_port), *analytics_pipeline);
  analytics_server->start();
  log::info("listening", {{"role", "analytics"},
                          {"address", "http://" + cfg.host + ":" + std::to_string(analytics_server->port())},
                          {"window_seconds", cfg.metrics_window_seconds},
                          {"log", std::string(elog->name())}});
}

void process::start_notifier() {
  auto ns = notify::default_notifier_settings();
  ns.consumer.group = cfg.notifier_consumer_group;
  ns.consumer.max_attempts = cfg.consumer_max_attempts;
  ns.consumer.backoff_min = std::chrono::milliseconds(cfg.consumer_backoff_ms);
  ns.consumer.backoff_max = std::chrono::milliseconds(cfg.consumer_backoff_max_ms);
  ns.coalesce = std::chrono::milliseconds(cfg.notify_coalesce_ms);
  ns.email_enabled = !cfg.smtp_url.empty();
  ns.max_attempts = cfg.delivery_max_attempts;
  ns.backoff = std::chrono::milliseconds(cfg.delivery_backoff_ms);
  ns.backoff_max = std::chrono::milliseconds(cfg.delivery_backoff_max_ms);
  ns.poll_every = std::chrono::milliseconds(cfg.delivery_poll_ms);
  ns.lease = std::chrono::milliseconds(cfg.delivery_timeout_ms) * 2 + std::chrono::seconds(30);
  ns.concurrency = cfg.delivery_concurrency;
  notify::courier_settings cs;
  cs.timeout = std::chrono::milliseconds(cfg.delivery_timeout_ms);
  cs.smtp =
      delivery::smtp_settings{cfg.smtp_url, cfg.smtp_username, cfg.smtp_password, cfg.smtp_starttls, cs.timeout * 2};
  cs.mail_from = cfg.smtp_from;
  cs.app_name = cfg.app_name;
  cs.public_url = cfg.public_url;
  notifier = std::make_unique<notify::notifier>(io.context().get_executor(), *elog, *db, *broker, clk, ns,
                                                notify::make_courier(std::move(cs)));
  notifier->start();
  notifier_ctx = std::make_unique<http::notifier_context>(
      http::notifier_context{*db,
                             http::notifier_info{cfg.app_name, std::string(version), cfg.environment,
                                                 std::string(elog->name()), ns.email_enabled},
                             [log = elog.get()] { return log->check(); }});
  http::add_notifier_routes(notifier_routes, *notifier_ctx);
  http::add_admin_routes(notifier_routes);
  notifier_pipeline =
      std::make_unique<http::pipeline>(notifier_routes, http::pipeline_settings{"notifier", cfg.cors_origin_list()});
  notifier_server = std::make_unique<http::server>(io, server_settings(cfg.notifier_port), *notifier_pipeline);
  notifier_server->start();
  log::info("listening", {{"role", "notifier"},
                          {"address", "http://" + cfg.host + ":" + std::to_string(notifier_server->port())},
                          {"email", ns.email_enabled ? "smtp" : "disabled"},
                          {"log", std::string(elog->name())}});
}

task<void> process::poll_revocations() {
  while (!stopping) {
    revocation_timer.expires_after(std::chrono::milliseconds(cfg.revocation_poll_ms));
    auto [ec] = co_await revocation_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopping) co_return;
    try {
      co_await auth->refresh_revocations();
      if (gateway) gateway->check_sessions();
    } catch (const std::exception& e) {
      log::warn("revocation refresh failed", {{"error", e.what()}});
    }
  }
}

void process::stop() {
  stopping = true;
  revocation_timer.cancel();
  if (api_server) api_server->stop();
  if (gateway_server) gateway_server->stop();
  if (analytics_server) analytics_server->stop();
  if (notifier_server) notifier_server->stop();
}

task<void> process::shutdown() {
  stop();
  try {
    if (gateway) co_await gateway->stop(std::chrono::milliseconds(1500));
    // At once: each consumer waits out its poll before it stops, so one after
    // another would add those waits up.
    using namespace asio::experimental::awaitable_operators;
    co_await (stop_part(presence.get()) && stop_part(aggregator.get()) && stop_part(notifier.get()) &&
              stop_part(relay.get()));
    if (elog) co_await elog->stop();
    if (broker) co_await broker->stop();
  } catch (const std::exception& e) {
    log::warn("shutdown step failed", {{"error", e.what()}});
  }
  // In-flight requests of the API get a moment too.
  asio::steady_timer t(io.context(), std::chrono::milliseconds(100));
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  io.stop();
}

}  // namespace

std::string locate_share_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  for (const auto& candidate :
       {exe.parent_path() / "share" / "signalink", exe.parent_path().parent_path() / "share" / "signalink"})
    if (fs::exists(candidate / "openapi.json", ec)) return candidate.string();
  return {};
}

int run(const config& c, const std::set<role>& roles) {
  auto key = security::resolve_secret_key(c.secret_key, c.production(), c.resolved_data_dir());
  if (!key) {
    log::error("refusing to start", {{"reason", key.err().detail}});
    return 2;
  }
  process p(c, std::move(*key));
  auto& ctx = p.io.context();
  int exit_code = 0;
  asio::co_spawn(ctx, p.start(roles), [&](const std::exception_ptr& ep) {
    if (!ep) return;
    log::error("start-up failed", {{"error", log::describe(ep)}});
    exit_code = 1;
    p.stop();
    p.io.stop();
  });
  asio::signal_set signals(ctx, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log::info("shutting down", {{"signal", sig}});
    asio::co_spawn(ctx, p.shutdown(), [&p](const std::exception_ptr&) { p.io.stop(); });
  });
  p.io.run();
  return exit_code;
}

namespace {

// A tool's handler: prints each event's payload on one line of stdout. A
// payload that is not an event envelope is poison (it goes to the dead-letter
// topic after its retries).
task<void> print_event(domain::log_event e) {
  boost::json::error_code ec;
  auto v = boost::json::parse(e.payload, ec);
  const auto* o = !ec ? v.if_object() : nullptr;
  if (!o || !o->contains("event_id") || !o->contains("event_type") || !o->at("event_type").is_string())
    throw std::runtime_error("not an event envelope (event_id, event_type)");
  std::cout << e.payload << '\n' << std::flush;
  co_return;
}

}  // namespace

namespace {

// What `signalink events tail` runs: a store, the event log and one consumer.
struct tail_session {
  const config& cfg;
  std::string group;
  std::vector<std::string> topics;
  net::io_pool io{1};
  system_clock clk;
  std::unique_ptr<domain::store> db;
  std::unique_ptr<domain::event_log> elog;
  std::unique_ptr<events::consumer> reader;

  task<void> start() {
    db = co_await open_store(io.context().get_executor(), cfg);
    elog = open_event_log(io.context().get_executor(), cfg, *db, clk);
    events::consumer_settings cs;
    cs.group = group;
    cs.topics = topics;
    cs.max_attempts = cfg.consumer_max_attempts;
    cs.backoff_min = std::chrono::milliseconds(cfg.consumer_backoff_ms);
    cs.backoff_max = std::chrono::milliseconds(cfg.consumer_backoff_max_ms);
    reader = std::make_unique<events::consumer>(io.context().get_executor(), *elog, *db, clk, cs, print_event);
    reader->start();
  }

  task<void> stop() {
    if (reader) co_await reader->stop();
    if (elog) co_await elog->stop();
  }
};

}  // namespace

int tail_events(const config& c, const std::string& group, std::vector<std::string> topics) {
  tail_session t{c, group, topics.empty() ? all_topics() : std::move(topics)};
  int exit_code = 0;
  asio::co_spawn(t.io.context(), t.start(), [&](const std::exception_ptr& ep) {
    if (!ep) return;
    log::error("start-up failed", {{"error", log::describe(ep)}});
    exit_code = 1;
    t.io.stop();
  });
  asio::signal_set signals(t.io.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    asio::co_spawn(t.io.context(), t.stop(), [&t](const std::exception_ptr&) { t.io.stop(); });
  });
  t.io.run();
  return exit_code;
}

int migrate(const config& c) {
  const auto url = c.resolved_database_url();
  try {
    if (backend_of(url) == backend::postgres) {
      asio::io_context ctx;
      auto f = asio::co_spawn(ctx, storage::postgres::migrate(ctx.get_executor(), url), asio::use_future);
      ctx.run();
      f.get();
    } else {
      storage::sqlite::migrate(sqlite_path(url));
    }
  } catch (const std::exception& e) {
    log::error("migration failed", {{"error", e.what()}});
    return 1;
  }
  log::info("schema is up to date", {{"database", database_label(url)}});
  return 0;
}

}  // namespace sl::app
